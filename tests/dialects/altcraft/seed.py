"""The example requests of seed 002 (Altcraft), exactly as printed; ``printed`` swaps in the
host's token and workflow id, the only things a client would change."""

from __future__ import annotations

import re

SEED_TOKEN = "abcdefghijklmnqrstuvwxyz"

EMAIL_JSON = """{
"token": "abcdefghijklmnqrstuvwxyz",
"workflow_id": 12,
"matching": "email",
"data": [
{
"data": {
"_fname": "Alisa",
"_lname": "Lambert",
"email": "example@example.com",
"phones": "+79000000000"
}
},
{
"data": {
"_fname": "Alex",
"_lname": "Lambert",
"email": "example@example.com",
"phones": "+79000000000"
}
}
]
}"""

EMAIL_XML = """<xml>
<token>abcdefghijklmnqrstuvwxyz</token>
<workflow_id>10</workflow_id>
<matching>email</matching>
<data>
<_fname>John</_fname>
<_lname>Lambert</_lname>
<email>example@example.com</email>
</data>
<data>
<_fname>Bert</_fname>
<_lname>Lambert</_lname>
<email>example@example.com</email>
</data>
</xml>"""

CUSTOM_JSON = """{
"token": "abcdefghijklmnqrstuvwxyz",
"workflow_id": 12,
"matching": "custom",
"field_name": "CRM_ID",
"data": [
{
"data": {
"_fname": "Alina",
"_lname": "Lambert",
"email": "example@example.com",
"phones": "+79006574081",
"CRM_ID": "00066"
}
},
{
"data": {
"_fname": "Victor",
"_lname": "Lambert",
"email": "example@example.com",
"phones": "+79000005422",
"CRM_ID": "00076"
}
}
]
}"""

CUSTOM_XML = """<xml>
<token>abcdefghijklmnqrstuvwxyz</token>
<workflow_id>12</workflow_id>
<matching>custom</matching>
<field_name>New_field_7</field_name>
<data>
<_fname>Polina</_fname>
<_lname>Lambert</_lname>
<email>example@example.com</email>
<phones>+79006574082</phones>
<New_field_7 string = "true" >00067</New_field_7>
</data>
<data>
<_fname>Dariya</_fname>
<_lname>Lambert</_lname>
<email>example@example.com</email>
<phones>+79000005423</phones>
<New_field_7 string = "true">00077</New_field_7>
</data>
</xml>"""

# The documented answer when the body is over the limit, in both formats.
TOO_LARGE_JSON = {
    "error": 400,
    "error_debug": "http: request body too large",
    "error_text": "Invalid request",
}
TOO_LARGE_XML = """<xml>
<error>400</error>
<error_debug>http: request body too large</error_debug>
<error_text>Invalid request</error_text>
</xml>"""

_WORKFLOW_ID = re.compile(r'("workflow_id": )\d+|(<workflow_id>)\d+(?=</workflow_id>)')


def printed(example: str, token: str, workflow_id: object) -> str:
    """The example with the host's token and workflow id in place of the seed's."""
    swapped = example.replace(SEED_TOKEN, token)
    return _WORKFLOW_ID.sub(lambda m: f"{m.group(1) or m.group(2)}{workflow_id}", swapped)
