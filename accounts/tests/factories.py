import factory

from accounts.models import User


class UserFactory(factory.django.DjangoModelFactory):
    """A buyer in Russia unless told otherwise."""

    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"Person{n}")
    country = "RU"
    password = factory.PostGenerationMethodCall("set_password", "secret-pass-123")

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])

    @factory.post_generation
    def email_verified(obj, create, extracted, **kwargs):
        """Verified unless ``UserFactory(email_verified=False)``: a test account logs in as the
        demo's do (allauth asks a self-registered buyer to verify first)."""
        if create and extracted is not False:
            from accounts.services import user_email_mark_verified

            user_email_mark_verified(user=obj)


class BuyerFactory(UserFactory):
    pass


class SellerFactory(UserFactory):
    country = ""
    store = factory.SubFactory("catalog.tests.factories.StoreFactory")


class StaffFactory(UserFactory):
    country = ""
    is_staff = True

    @factory.post_generation
    def permissions(obj, create, extracted, **kwargs):
        """``StaffFactory(permissions=["disputes.view_dispute", ...])``: the staff flag alone grants nothing."""
        if create and extracted:
            from django.contrib.auth.models import Permission

            for name in extracted:
                app_label, codename = name.split(".")
                obj.user_permissions.add(
                    Permission.objects.get(content_type__app_label=app_label, codename=codename))
