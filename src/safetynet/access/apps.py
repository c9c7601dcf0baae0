from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "safetynet.access"
    verbose_name = "Access"

    def ready(self) -> None:
        from django.contrib.auth import signals

        from safetynet.access import signals as handlers

        signals.user_logged_in.connect(handlers.logged_in, dispatch_uid="audit_login")
        signals.user_logged_out.connect(handlers.logged_out, dispatch_uid="audit_logout")
        signals.user_login_failed.connect(handlers.login_failed, dispatch_uid="audit_login_failed")
