"""`make demo`: the sync between local emulators of Dynamics and Marketo, checkpoints in Azurite.
Lives beside the app, never in the deployed tree; `sync` never imports it."""
