from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The console core: roles, sign-in, audit log and the `dms` command."""

    name = "dmsconsole"
    verbose_name = "DMS console"

    def ready(self) -> None:
        from . import audit  # noqa: F401 - connects the sign-in/sign-out audit receivers
