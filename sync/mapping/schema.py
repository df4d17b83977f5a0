"""The mapping file (JSON or YAML): what an admin may write, as a pydantic schema.

```yaml
sync_filter_column: new_synctomkto     # per-table boolean column; null turns the filter off
person_fields: {id: dynamicsId, type: dynamicsEntityType, deleted: dynamicsIsDeleted}
delete_persons: false                  # true: a deleted lead/contact deletes its Marketo person
objects:
  lead:
    winner: marketo                    # dynamics | marketo | newest
    exclude: [rating]                  # default rows to drop, by Marketo field
    fields:
      - {dynamics: new_industry, marketo: industry, direction: both, winner: newest}
  account:
    fields:
      - {dynamics: new_tier, marketo: tier_c, option_value: code}
custom_tables:
  - table: new_project
    marketo_object: dynamicsProject_c
    key: projectId                     # the Marketo dedupe field that receives the row's id
    person: new_contactid              # lookup to the contact (or lead) the object belongs to
    fields:
      - {dynamics: new_name, marketo: projectName}
```
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sync.mapping.types import FieldDirection, LookupValue, OptionValue, Winner

MappedObject = Literal["lead", "contact", "account", "opportunity", "systemuser", "team"]
TWO_WAY_OBJECTS = frozenset({"lead", "contact"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldEntry(_Strict):
    dynamics: str = Field(min_length=1, description="Dynamics column logical name")
    marketo: str = Field(min_length=1, description="Marketo field REST name")
    direction: FieldDirection | None = None  # default: both for leads and contacts, else to_marketo
    winner: Winner | None = None
    option_value: OptionValue = OptionValue.LABEL
    lookup_value: LookupValue = LookupValue.ID
    lookup_target: str | None = None


class ObjectEntry(_Strict):
    winner: Winner | None = None
    exclude: list[str] = Field(default_factory=list)
    fields: list[FieldEntry] = Field(default_factory=list)


class CustomTableEntry(_Strict):
    table: str = Field(min_length=1)
    marketo_object: str = Field(min_length=1)
    key: str = Field(min_length=1)
    person: str | None = None
    person_field: str = "leadId"
    fields: list[FieldEntry] = Field(default_factory=list)


class PersonFields(_Strict):
    id: str = "dynamicsId"
    type: str = "dynamicsEntityType"
    deleted: str = "dynamicsIsDeleted"


class MappingFile(_Strict):
    version: Literal[1] = 1
    sync_filter_column: str | None = "new_synctomkto"
    person_fields: PersonFields = Field(default_factory=PersonFields)
    delete_persons: bool = False
    team_member_object: str | None = "dynamicsTeamMember_c"
    objects: dict[MappedObject, ObjectEntry] = Field(default_factory=dict)
    custom_tables: list[CustomTableEntry] = Field(default_factory=list)

    def entry(self, table: str) -> ObjectEntry | None:
        return next((entry for name, entry in self.objects.items() if name == table), None)
