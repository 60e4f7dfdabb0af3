"""factory_boy factories for the app's models, with status traits."""
from __future__ import annotations

import hashlib
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from generations.models import Generation, Membership, Team, UserProfile, VideoModel

VEO_PARAMETERS = [
    {"name": "prompt", "display_name": "Prompt", "type": "string", "required": True,
     "description": "What the video should show."},
    {"name": "negativePrompt", "display_name": "Negative prompt", "type": "string", "required": False},
    {"name": "durationSeconds", "display_name": "Duration", "type": "integer", "required": False,
     "options": [4, 6, 8], "default": 8},
    {"name": "aspectRatio", "display_name": "Aspect ratio", "type": "string", "required": False,
     "options": ["16:9", "9:16"], "default": "16:9"},
    {"name": "seed", "type": "integer", "required": False, "min": 0, "max": 4294967295},
]


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True  # the only post-generation step (a profile) saves itself

    username = factory.Sequence(lambda n: f"member{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pass-word-123")

    class Params:
        staff = factory.Trait(is_staff=True, is_superuser=True)
        # Signed up under GENERATIONS["SIGNUP"] = "approval"; staff have not approved yet.
        awaiting_approval = factory.Trait(profile=factory.RelatedFactory(
            "tests.helpers.factories.ProfileFactory", factory_related_name="user", approved=False))


class ProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UserProfile
        django_get_or_create = ("user",)

    user = factory.SubFactory(UserFactory)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    team = factory.SubFactory(TeamFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.MEMBER
    seen_at = factory.LazyFunction(timezone.now)

    class Params:
        # Added by someone else and not opened yet.
        unopened = factory.Trait(seen_at=None)


class VideoModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VideoModel
        django_get_or_create = ("id",)

    id = "Veo3"
    display_name = ""
    brief_description = "Text to video"
    parameters = factory.LazyFunction(lambda: [dict(p) for p in VEO_PARAMETERS])
    price_credits = Decimal("10")
    price_unit = VideoModel.PriceUnit.JOB


def _sent_to_gmi(status: str, prefix: str, **more) -> factory.Trait:
    """A job GMI has accepted, in ``status``: its request id (``req-<prefix>NNNNNN``) and when it was sent."""
    return factory.Trait(
        status=status,
        upstream_request_id=factory.Sequence(lambda n: f"req-{prefix}{n:06d}"),
        send_started_at=factory.LazyFunction(timezone.now),
        dispatched_at=factory.LazyFunction(timezone.now),
        **more,
    )


class GenerationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Generation

    owner = factory.SubFactory(UserFactory)
    model = factory.SubFactory(VideoModelFactory)
    payload = factory.LazyFunction(lambda: {"prompt": "a red fox running through snow", "durationSeconds": 4})
    prompt = factory.LazyAttribute(lambda g: g.payload.get("prompt", ""))
    video_seconds = 4
    credits = Decimal("10")
    status = Generation.Status.QUEUED

    class Params:
        dispatched = _sent_to_gmi(Generation.Status.DISPATCHED, "", next_check_at=factory.LazyFunction(timezone.now))
        processing = _sent_to_gmi(Generation.Status.PROCESSING, "p", next_check_at=factory.LazyFunction(timezone.now))
        succeeded = _sent_to_gmi(
            Generation.Status.SUCCEEDED, "s",
            finished_at=factory.LazyFunction(timezone.now),
            video_name=factory.LazyAttribute(lambda g: f"{g.owner.pk}/fixture/video.mp4"),
            video_size=1024,
            video_content_type="video/mp4",
            video_sha256=hashlib.sha256(b"fixture").hexdigest(),
        )
        failed = factory.Trait(
            status=Generation.Status.FAILED,
            error="GMI reported that the job failed.",
            error_code="upstream_failed",
            finished_at=factory.LazyFunction(timezone.now),
        )
        cancelled = factory.Trait(status=Generation.Status.CANCELLED, finished_at=factory.LazyFunction(timezone.now))
        shared = factory.Trait(
            team=factory.SubFactory(TeamFactory),
            visibility=Generation.Visibility.TEAM,
        )

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # A queued job enters the waiting line as a submission would: with its owner's next number.
        if kwargs.get("status", Generation.Status.QUEUED) == Generation.Status.QUEUED and \
                kwargs.get("send_started_at") is None and kwargs.get("line_seq") is None:
            from generations.services.waiting_line import join_line

            kwargs.setdefault("created_at", timezone.now())
            kwargs["line_seq"] = join_line(owner_id=kwargs["owner"].pk, created_at=kwargs["created_at"])
        return super()._create(model_class, *args, **kwargs)
