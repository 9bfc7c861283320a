"""dutybridge: routes and SQS handlers live in chalicelib.routes; this file only assembles them."""
import logging

from chalice import Chalice

from chalicelib.routes import admin, callbacks, health, sources, web, workers

app = Chalice(app_name="dutybridge")
app.log.setLevel(logging.INFO)
for blueprint in (admin.bp, callbacks.bp, health.bp, sources.bp, web.bp, workers.bp):
    app.register_blueprint(blueprint)
