"""What Lab 06 asks for that its checks share: the tag exactly one file must carry."""

from engine.record import ObjectInfo

LAB_TAG = ("Project", "Intern-Labs")


def has_lab_tag(obj: ObjectInfo) -> bool:
    return obj.tags.get(LAB_TAG[0]) == LAB_TAG[1]
