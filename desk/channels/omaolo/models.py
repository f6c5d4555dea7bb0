"""An Omaolo delivery: a symptom assessment (oirearvio) or a service assessment (palveluarvio)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..base import Delivery, Entries, Model, Text, absent

URGENCIES = tuple(f"P{n}" for n in range(9))


class Answer(Model):
    question: Text()
    answer: Text(min_length=0)


class Assessed(Model):
    code: Text(128)
    title: Text(300)
    recommendation: Text()
    answers: Entries(Answer, 0, 300) | None = None
    contact_request: bool | None = Field(None, description="The resident asked to be contacted")


class SymptomAssessment(Assessed):
    """Oirearvio: Omaolo's urgency class is required (P0 is the most urgent)."""

    kind: Literal["symptom"]
    urgency: Literal[URGENCIES]


class ServiceAssessment(Assessed):
    """Palveluarvio: no urgency class."""

    kind: Literal["service"]
    urgency: absent("must be absent for a service assessment") = None


class OmaoloDelivery(Delivery):
    """An assessment the resident made in Omaolo."""

    assessment: Annotated[SymptomAssessment | ServiceAssessment, Field(discriminator="kind")]
