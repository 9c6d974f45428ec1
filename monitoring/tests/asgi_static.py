"""dmsconsole.asgi with static files served from the finders (tests run without collectstatic)."""

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

from dmsconsole.asgi import application as console

application = ASGIStaticFilesHandler(console)
