from django.apps import AppConfig


class LinkageConfig(AppConfig):
    name = "safetynet.linkage"
    verbose_name = "Linkage"

    def ready(self) -> None:
        from safetynet.registry.signals import name_reads_like, registry_imported

        registry_imported.connect(_rebuild_index, dispatch_uid="linkage_rebuild_index")
        name_reads_like.connect(_reading_alike, dispatch_uid="linkage_reading_alike")


def _rebuild_index(**_: object) -> None:
    """A new registry import changes who can be found: the persons it added, changed or removed are
    filed again in the blocking index (the whole index when most of the registry changed)."""
    from safetynet.linkage.services import update_index

    update_index()


def _reading_alike(name: str, low: str, high: str, **_: object) -> list[str]:
    from safetynet.linkage.services import persons_reading_like

    return persons_reading_like(name, low, high)
