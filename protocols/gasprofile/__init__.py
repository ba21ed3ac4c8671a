"""Gas-detector and output-module Modbus register profiles: data files, validation, decoding and encoding.

A profile (TOML, see ``protocols/gas_detector.md``) describes where a detector keeps its gas values, status bits,
alarm set-points, maintenance dates, heartbeat and identification, or which coils drive an output module's
siren, beacon and fans. The edge decodes polls with it; the simulators encode their state with it.

    profile = load_profile("generic-4gas")
    plan = read_plan(profile)                     # the reads to make, fewest first
    decoder = DetectorDecoder(profile)            # kept by whoever polls: the plan is worked out once
    snapshot = decoder.decode({block: words_read, ...})
"""

from protocols.errors import ProfileError
from protocols.gasprofile.codec import DetectorDecoder, classify, decode_detector, encode_detector
from protocols.gasprofile.identification import decode_identification, encode_identification
from protocols.gasprofile.loader import load_profile, packaged_profiles, parse_profile
from protocols.gasprofile.model import DetectorProfile, OutputModuleProfile, Profile
from protocols.gasprofile.outputs import coil_writes, decode_output_module, encode_output_module, outputs_of_kind
from protocols.gasprofile.readings import (
    DetectorSnapshot,
    DeviceIdentity,
    DeviceStatus,
    GasReading,
    GasSettings,
    OutputModuleState,
    ReadingStatus,
    SetPoint,
)
from protocols.gasprofile.registers import Image, ReadBlock, blocks_from_image, image_from_blocks, read_plan

__all__ = [
    "DetectorDecoder",
    "DetectorProfile",
    "DetectorSnapshot",
    "DeviceIdentity",
    "DeviceStatus",
    "GasReading",
    "GasSettings",
    "Image",
    "OutputModuleProfile",
    "OutputModuleState",
    "Profile",
    "ProfileError",
    "ReadBlock",
    "ReadingStatus",
    "SetPoint",
    "blocks_from_image",
    "classify",
    "coil_writes",
    "decode_detector",
    "decode_identification",
    "decode_output_module",
    "encode_detector",
    "encode_identification",
    "encode_output_module",
    "image_from_blocks",
    "load_profile",
    "outputs_of_kind",
    "packaged_profiles",
    "parse_profile",
    "read_plan",
]
