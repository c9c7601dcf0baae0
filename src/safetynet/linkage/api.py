"""API routes of linkage: candidates as a form is typed, the review queue, thresholds (thin; services work)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.errors import HttpError

from safetynet.access.permissions import Cap
from safetynet.access.services import Actor, PersonalDataScope
from safetynet.apierrors import Id, answers
from safetynet.linkage import services
from safetynet.linkage.models import Review

router = Router(tags=["linkage"])


class PersonFields(Schema):
    """What someone may say about a person: every field optional, none trusted (linkage.services.FIELDS)."""

    name: str = ""
    id_number: str = ""
    phone: str = ""
    birth_date: str = ""
    age: str = ""
    gender: str = ""
    region_code: str = ""
    address_text: str = ""


class CandidateQuery(PersonFields):
    limit: int = 5


class CandidateOut(Schema):
    id_number: str  # masked unless the role sees whole identifiers
    name: str
    gender: str
    birth_year: int
    household_id: str
    region_code: str
    probability: float
    explanation: str
    fields: list[dict[str, object]]


class LookupOut(Schema):
    known: bool  # a social organisation gets only this
    decision: str | None = None
    place: str | None = None  # how the address text was read
    candidates: list[CandidateOut] | None = None


class ReviewOut(Schema):
    review_id: int
    version: int
    source: str
    status: str
    record: dict[str, str]
    candidates: list[dict[str, object]]


class DecideIn(Schema):
    version: int
    id_number: str | None = None  # None: none of the candidates is this person


class ThresholdsIn(Schema):
    match: float
    review: float


class ThresholdsOut(Schema):
    model_id: int
    match: float
    review: float
    note: str


def _query(query: CandidateQuery) -> dict[str, str]:
    raw = query.dict()
    raw.pop("limit")
    if not any(raw[f].strip() for f in ("name", "id_number", "phone")):
        raise HttpError(422, "请至少输入姓名、身份证号或电话中的一项")
    return raw


@router.get("/candidates", response=answers(LookupOut, 403, 422, 429), url_name="candidates")
def candidates(request: HttpRequest, query: Query[CandidateQuery]) -> LookupOut:
    actor = Actor.from_request(request, "api linkage lookup")
    raw = _query(query)
    try:
        if Cap.READ_REGISTRY not in actor.user.caps:  # a social organisation: known or not, nothing more
            return LookupOut(known=services.known_to_us(actor, raw))
        scope = PersonalDataScope(actor)
        result = services.lookup(actor, raw, limit=query.limit)
    except PermissionDenied:
        raise HttpError(403, "this role may not look up persons") from None
    if result.error:
        raise HttpError(422, result.error)
    return LookupOut(
        known=result.decision == services.DecisionKind.MATCH,
        decision=result.decision,
        place=result.place_how or None,
        candidates=[
            CandidateOut(
                id_number=scope.mask_id(c.id_number),
                name=c.name,
                gender=c.gender,
                birth_year=c.birth_date.year,
                household_id=c.household_id,
                region_code=c.region_code,
                probability=round(c.probability, 4),
                explanation=c.text,
                fields=c.explanation,
            )
            for c in result.candidates
        ],
    )


def _review(review: Review, scope: PersonalDataScope) -> ReviewOut:
    return ReviewOut(
        review_id=review.pk,
        version=review.version,
        source=review.source,
        status=review.status,
        record={
            k: (scope.mask_id(v) if k == "id_number" and len(v) == 18 else v)
            for k, v in review.record.items()
        },
        candidates=[{**c, "id_number": scope.mask_id(c["id_number"])} for c in review.candidates],
    )


@router.get("/reviews", response=answers(list[ReviewOut], 403))
def list_reviews(request: HttpRequest) -> list[ReviewOut]:
    actor = Actor.from_request(request, "api linkage reviews")
    try:
        scope = PersonalDataScope(actor)
        return [_review(r, scope) for r in services.pending_reviews(actor)]
    except PermissionDenied:
        raise HttpError(403, "this role may not read the review queue") from None


@router.post("/reviews/{review_id}", response=answers(ReviewOut, 400, 403, 404, 409, 422))
def decide(request: HttpRequest, review_id: Id, body: DecideIn) -> ReviewOut:
    actor = Actor.from_request(request, "api linkage review decision")
    try:
        scope = PersonalDataScope(actor)
        review = services.get_review(actor, review_id)
        if review is None:
            raise HttpError(404, "no such review in your region")
        # Candidates travel masked: the position in the list names the person chosen.
        chosen = _unmask(review, body.id_number, scope)
        decided = services.decide_review(actor, review_id, body.version, chosen)
    except PermissionDenied:
        raise HttpError(403, "this role may not decide matches") from None
    except services.Conflict as error:
        raise HttpError(409, str(error)) from None
    except ValueError as error:
        raise HttpError(422, str(error)) from None
    return _review(decided, scope)


def _unmask(review: Review, given: str | None, scope: PersonalDataScope) -> str | None:
    if given is None:
        return None
    for candidate in review.candidates:
        if given in (candidate["id_number"], scope.mask_id(candidate["id_number"])):
            return candidate["id_number"]
    raise ValueError("所选人员不在候选名单中")


@router.get("/thresholds", response=answers(ThresholdsOut))
def get_thresholds(request: HttpRequest) -> ThresholdsOut:
    Actor.from_request(request, "api linkage thresholds")
    model = services.active_model()
    return ThresholdsOut(
        model_id=model.pk, match=model.match_threshold, review=model.review_threshold, note=model.note
    )


@router.put("/thresholds", response=answers(ThresholdsOut, 400, 403, 422))
def put_thresholds(request: HttpRequest, body: ThresholdsIn) -> ThresholdsOut:
    actor = Actor.from_request(request, "api linkage thresholds")
    try:
        model = services.set_thresholds(actor, body.match, body.review)
    except PermissionDenied:
        raise HttpError(403, "only a county administrator may change thresholds") from None
    except ValueError as error:
        raise HttpError(422, str(error)) from None
    return ThresholdsOut(
        model_id=model.pk, match=model.match_threshold, review=model.review_threshold, note=model.note
    )
