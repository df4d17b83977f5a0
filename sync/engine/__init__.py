"""The sync itself: per object, read what changed in Dynamics, map it, drop what Marketo already
has, write the rest in full batches, then store links and move the checkpoint. Decisions are
pure functions (plan, matching, fingerprint); I/O stays at the edges (targets, page, run)."""
