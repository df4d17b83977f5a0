"""The one Functions app object. Configuration is validated here, at start: a bad setting stops
indexing with one message that lists every problem, instead of failing later, one run at a time."""

import azure.durable_functions as df
import azure.functions as func

from sync.functions import blueprints
from sync.functions.worker import settings

settings()

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in blueprints():
    app.register_functions(blueprint)
