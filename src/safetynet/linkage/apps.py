from django.apps import AppConfig


class LinkageConfig(AppConfig):
    name = "safetynet.linkage"
    verbose_name = "Linkage"

    def ready(self) -> None:
        from safetynet.registry.signals import registry_imported

        registry_imported.connect(_rebuild_index, dispatch_uid="linkage_rebuild_index")


def _rebuild_index(**_: object) -> None:
    """A new registry import changes who can be found: the blocking index is rebuilt from it."""
    from safetynet.linkage.services import rebuild_index

    rebuild_index()
