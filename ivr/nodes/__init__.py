"""The node types of the menu format, one module each: fields, IR, edges, prompts and what the engine does there.

Adding a node type: write its module (fields, dataclass, behaviour, `TYPE`), list it in `NODE_TYPES`
below, run `make docs` (JSON Schema and README tables), and test it.
"""

from ivr.format import NodeType
from ivr.nodes import (
    announce,
    hangup,
    hours,
    input,
    language,
    menu,
    record,
    scope_catalog,
    scope_channel,
    scope_channels,
    scope_list,
    ticket,
    transfer,
)
from ivr.nodes.announce import AnnounceNode
from ivr.nodes.hangup import HangupNode
from ivr.nodes.hours import HoursNode
from ivr.nodes.input import InputNode
from ivr.nodes.language import LanguageNode
from ivr.nodes.menu import MenuNode
from ivr.nodes.prompted import PromptedNode
from ivr.nodes.record import RecordNode
from ivr.nodes.ticket import TicketNode
from ivr.nodes.transfer import TransferNode

__all__ = [
    "NODE_TYPES",
    "AnnounceNode",
    "HangupNode",
    "HoursNode",
    "InputNode",
    "LanguageNode",
    "MenuNode",
    "PromptedNode",
    "RecordNode",
    "TicketNode",
    "TransferNode",
]

# In the order the README and the JSON Schema list them.
NODE_TYPES: dict[str, NodeType] = {
    module.TYPE.kind: module.TYPE
    for module in (
        menu,
        input,
        announce,
        hours,
        language,
        transfer,
        record,
        ticket,
        hangup,
        scope_list,
        scope_channel,
        scope_channels,
        scope_catalog,
    )
}
