# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Layer sizes of many images with as few history reads as possible (graphdriver stores).

On a graphdriver store (overlay2, ...) an image's size is exactly the sum of its layers' sizes,
so once every layer of an image but one is known, the last one is the difference. Images
built on a common stack share all but their top layers: reading the history of one of them
gives the stack, and the others follow from their sizes. The API has no call listing layer
sizes in bulk, and each history read is one engine request per image.
"""

from __future__ import annotations

from typing import Dict, List, Mapping, Sequence, Tuple

# image ID -> (chain IDs oldest first, the image's total size in bytes)
Stacks = Mapping[str, Tuple[Sequence[str], int]]


def derive(stacks: Stacks, known: Dict[str, int]) -> Dict[str, List[int]]:
    """Sizes of each image's layers that follow from ``known`` (chain ID -> bytes) and the totals.

    ``known`` gains every layer size derived on the way. Images left out still need a history read.
    """
    resolved: Dict[str, List[int]] = {}
    pending = dict(stacks)
    progress = True
    while progress and pending:
        progress = False
        for image_id, (chains, total) in sorted(pending.items(), key=lambda entry: (len(entry[1][0]), entry[0])):
            unknown = [chain for chain in chains if chain not in known]
            if len(unknown) == 1 and total >= 0:
                rest = total - sum(known[chain] for chain in chains if chain in known)
                if rest < 0:
                    continue  # the totals disagree with what is known: read this one
                known[unknown[0]] = rest
                unknown = []
            if not unknown:
                resolved[image_id] = [known[chain] for chain in chains]
                del pending[image_id]
                progress = True
    return resolved


def history_to_read(stacks: Stacks, resolved: Mapping[str, object]) -> List[str]:
    """One image per distinct stack under the top layer, among the images not resolved.

    Its history gives that stack's sizes, after which its siblings differ from it by one layer.
    """
    chosen: Dict[str, str] = {}
    for image_id, (chains, _total) in sorted(stacks.items()):
        if image_id not in resolved:
            chosen.setdefault(chains[-2] if len(chains) > 1 else image_id, image_id)
    return sorted(chosen.values())
