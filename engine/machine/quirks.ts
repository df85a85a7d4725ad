/**
 * Device-specific ACS answers: the `pci_dev_acs_enabled[]` table of `drivers/pci/quirks.c` and
 * the functions it points at. `pci_acs_enabled` asks these first; the first entry matching
 * vendor/device that returns >= 0 is final (`pci_dev_specific_acs_enabled`).
 *
 * Entries key on vendor and device ID, so they only fire for functions whose `id` the user wrote
 * (unwritten IDs get `DEFAULT_VENDOR_ID`, which no entry matches).
 */

import type { PciDev } from '../state.js';
import {
    PCI_ACS_CR, PCI_ACS_DT, PCI_ACS_EC, PCI_ACS_RR, PCI_ACS_SV, PCI_ACS_TB, PCI_ACS_UF, pci_acs_ctrl_enabled,
} from './acs-flags.js';
import {
    PCI_ANY_ID, PCI_VENDOR_ID_AMAZON_ANNAPURNA_LABS, PCI_VENDOR_ID_AMCC, PCI_VENDOR_ID_AMD, PCI_VENDOR_ID_AMPERE,
    PCI_VENDOR_ID_ATI, PCI_VENDOR_ID_BROADCOM, PCI_VENDOR_ID_CAVIUM, PCI_VENDOR_ID_HXT, PCI_VENDOR_ID_INTEL,
    PCI_VENDOR_ID_LOONGSON, PCI_VENDOR_ID_NXP, PCI_VENDOR_ID_QCOM, PCI_VENDOR_ID_SOLARFLARE, PCI_VENDOR_ID_WANGXUN,
    PCI_VENDOR_ID_ZHAOXIN,
} from './pci-ids.js';
import { onRootBus, pci_is_pcie, pci_pcie_type } from './pci.js';

const ENODEV = 19;
const ENOTTY = 25;

/** Machine-wide facts some quirks read. */
export interface AcsQuirkContext {
    /** An ACPI IVRS table exists, i.e. the machine has an AMD IOMMU (`pci_quirk_amd_sb_acs`). */
    readonly ivrs: boolean;
}

type AcsQuirk = (dev: PciDev, acsFlags: number, ctx: AcsQuirkContext) => number;

const ISOLATED = PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF;

/**
 * `pci_quirk_amd_sb_acs`: multifunction AMD/ATI southbridge devices on the root bus of a system
 * with an AMD IOMMU redirect all peer traffic upstream (RR and CR).
 */
const pci_quirk_amd_sb_acs: AcsQuirk = (dev, acsFlags, ctx) => {
    if (!dev.multifunction || !onRootBus(dev)) {
        return -ENODEV;
    }
    if (!ctx.ivrs) {
        return -ENODEV;
    }
    const flags = acsFlags & (PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_EC | PCI_ACS_DT);
    return pci_acs_ctrl_enabled(flags, PCI_ACS_RR | PCI_ACS_CR);
};

function inRanges(id: number, ranges: ReadonlyArray<readonly [number, number]>): boolean {
    return ranges.some(([lo, hi]) => id >= lo && id <= hi);
}

/** `pci_quirk_cavium_acs`: ThunderX1/2/3 root ports behave as if SV/RR/CR/UF were enabled. */
const pci_quirk_cavium_acs: AcsQuirk = (dev, acsFlags) => {
    const match = pci_is_pcie(dev) && pci_pcie_type(dev) === 'ROOT_PORT'
        && inRanges(dev.deviceId, [[0xa000, 0xa7ff], [0xaf84, 0xaf84], [0xb884, 0xb884]]);
    if (!match) {
        return -ENOTTY;
    }
    return pci_acs_ctrl_enabled(acsFlags, ISOLATED);
};

/** `pci_quirk_xgene_acs` (and `_qcom_rp_acs`, `_nxp_rp_acs`, `_brcm_acs`, `_loongson_acs`): root ports without P2P. */
const pci_quirk_isolated_rp: AcsQuirk = (_dev, acsFlags) => pci_acs_ctrl_enabled(acsFlags, ISOLATED);

/** `pci_quirk_zhaoxin_pcie_ports_acs`: listed ports isolate; other Zhaoxin ports are answered "no". */
const pci_quirk_zhaoxin_pcie_ports_acs: AcsQuirk = (dev, acsFlags) => {
    const type = pci_pcie_type(dev);
    if (!pci_is_pcie(dev) || (type !== 'ROOT_PORT' && type !== 'DOWNSTREAM')) {
        return -ENOTTY;
    }
    if (inRanges(dev.deviceId, [[0x0710, 0x071e], [0x0721, 0x0721], [0x0723, 0x0752]])) {
        return pci_acs_ctrl_enabled(acsFlags, ISOLATED);
    }
    return 0;
};

function idRange(lo: number, hi: number, step = 1): number[] {
    const ids: number[] = [];
    for (let id = lo; id <= hi; id += step) {
        ids.push(id);
    }
    return ids;
}

/** `pci_quirk_intel_pch_acs_ids[]`: PCH root ports with ACS-like controls but no ACS capability. */
export const PCI_QUIRK_INTEL_PCH_ACS_IDS: ReadonlySet<number> = new Set([
    ...idRange(0x3b42, 0x3b51), // Ibexpeak PCH
    ...idRange(0x1c10, 0x1c1f), // Cougarpoint PCH
    ...idRange(0x1e10, 0x1e1f), // Pantherpoint PCH
    ...idRange(0x8c10, 0x8c1f), // Lynxpoint-H PCH
    ...idRange(0x9c10, 0x9c1b), // Lynxpoint-LP PCH
    ...idRange(0x9c90, 0x9c9b), // Wildcat PCH
    ...idRange(0x1d10, 0x1d1e, 2), // Patsburg (X79) PCH
    ...idRange(0x8d10, 0x8d1e), // Wellsburg (X99) PCH
    ...idRange(0x8c90, 0x8c9e, 2), // Lynx Point (9 series) PCH
]);

/**
 * `pci_quirk_intel_pch_acs`. Linux answers "isolated" once `pci_quirk_enable_intel_pch_acs` set
 * PCI_DEV_FLAGS_ACS_ENABLED_QUIRK at enumeration; that succeeds on real PCHs (it reads the LPC
 * bridge's RCBA, which firmware enables), so the engine takes it as set.
 */
const pci_quirk_intel_pch_acs: AcsQuirk = (dev, acsFlags) => {
    if (!pci_is_pcie(dev) || pci_pcie_type(dev) !== 'ROOT_PORT' || !PCI_QUIRK_INTEL_PCH_ACS_IDS.has(dev.deviceId)) {
        return -ENOTTY;
    }
    return pci_acs_ctrl_enabled(acsFlags, ISOLATED);
};

/** `pci_quirk_al_acs`: Annapurna Labs root ports. */
const pci_quirk_al_acs: AcsQuirk = (dev, acsFlags) => {
    if (pci_pcie_type(dev) !== 'ROOT_PORT') {
        return -ENOTTY;
    }
    return (acsFlags & ~ISOLATED) !== 0 ? 0 : 1;
};

/** `pci_quirk_intel_spt_pch_acs_match`: Sunrise/Union Point and 7th/8th gen mobile root ports. */
function intelSptPchAcsMatch(dev: PciDev): boolean {
    return pci_is_pcie(dev) && pci_pcie_type(dev) === 'ROOT_PORT'
        && inRanges(dev.deviceId, [[0xa110, 0xa11f], [0xa167, 0xa16a], [0xa290, 0xa29f], [0xa2e7, 0xa2ee], [0x9d10, 0x9d1b]]);
}

/**
 * `pci_quirk_intel_spt_pch_acs`: these ports keep the ACS control register at a dword offset; the
 * quirk reads it there and applies the `pci_acs_flags_enabled` rule. The engine's `AcsState` is
 * that register, so the rule is the standard one; without an ACS capability it does not answer.
 */
const pci_quirk_intel_spt_pch_acs: AcsQuirk = (dev, acsFlags) => {
    if (!intelSptPchAcsMatch(dev) || !dev.acs) {
        return -ENOTTY;
    }
    const flags = acsFlags & (dev.acs.cap | PCI_ACS_EC);
    return pci_acs_ctrl_enabled(flags, dev.acs.ctrl);
};

/**
 * `pci_quirk_mf_endpoint_acs`: multifunction devices the vendor verified do no peer-to-peer
 * between functions; all of SV, TB, RR, CR, UF, DT count as provided.
 */
const pci_quirk_mf_endpoint_acs: AcsQuirk = (_dev, acsFlags) =>
    pci_acs_ctrl_enabled(acsFlags, PCI_ACS_SV | PCI_ACS_TB | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF | PCI_ACS_DT);

/** `pci_quirk_rciep_acs`: Intel RCiEPs may only peer on translated addresses (VT-d r3.1 3.16). */
const pci_quirk_rciep_acs: AcsQuirk = (dev, acsFlags) => {
    if (pci_pcie_type(dev) !== 'RC_END') {
        return -ENOTTY;
    }
    return pci_acs_ctrl_enabled(acsFlags, ISOLATED);
};

/** `pci_quirk_wangxun_nic_acs`: listed NICs isolate functions; other Wangxun devices are answered "no". */
const pci_quirk_wangxun_nic_acs: AcsQuirk = (dev, acsFlags) => {
    const listed = inRanges(dev.deviceId, [[0x0100, 0x010f]])
        || [0x1001, 0x2001, 0x5010, 0x5025, 0x5040, 0x5110, 0x5125, 0x5140].includes(dev.deviceId);
    return listed ? pci_acs_ctrl_enabled(acsFlags, ISOLATED) : 0;
};

interface AcsQuirkEntry {
    readonly vendor: number;
    readonly device: number;
    readonly acsEnabled: AcsQuirk;
}

function entries(vendor: number, devices: readonly number[], acsEnabled: AcsQuirk): AcsQuirkEntry[] {
    return devices.map((device) => ({ vendor, device, acsEnabled }));
}

/** `pci_dev_acs_enabled[]`, in the kernel's order (order matters: the first answer wins). */
const PCI_DEV_ACS_ENABLED: readonly AcsQuirkEntry[] = [
    ...entries(PCI_VENDOR_ID_ATI, [0x4385, 0x439c, 0x4383, 0x439d, 0x4384, 0x4399], pci_quirk_amd_sb_acs),
    ...entries(PCI_VENDOR_ID_AMD, [0x780f, 0x7809], pci_quirk_amd_sb_acs),
    ...entries(PCI_VENDOR_ID_SOLARFLARE, [0x0903, 0x0923, 0x0a03], pci_quirk_mf_endpoint_acs),
    ...entries(PCI_VENDOR_ID_INTEL, [
        0x10c6, 0x10db, 0x10dd, 0x10e1, 0x10f1, 0x10f7, 0x10f8, 0x10f9, 0x10fa, 0x10fb, 0x10fc,
        0x1507, 0x1514, 0x151c, 0x1529, 0x152a, 0x154d, 0x154f, 0x1551, 0x1558,
        0x1509, 0x150e, 0x150f, 0x1510, 0x1511, 0x1516, 0x1527, // 82580
        0x10c9, 0x10e6, 0x10e7, 0x10e8, 0x150a, 0x150d, 0x1518, 0x1526, // 82576
        0x10a7, 0x10a9, 0x10d6, // 82575
        0x1521, 0x1522, 0x1523, 0x1524, // I350
        0x105e, 0x105f, 0x1060, 0x10d9, // 82571 (quads omitted upstream: non-ACS switch)
        0x15b7, 0x15b8, // I219
    ], pci_quirk_mf_endpoint_acs),
    { vendor: PCI_VENDOR_ID_INTEL, device: PCI_ANY_ID, acsEnabled: pci_quirk_rciep_acs },
    ...entries(PCI_VENDOR_ID_QCOM, [0x0400, 0x0401, 0x0115], pci_quirk_isolated_rp),
    { vendor: PCI_VENDOR_ID_HXT, device: 0x0401, acsEnabled: pci_quirk_isolated_rp },
    { vendor: PCI_VENDOR_ID_INTEL, device: PCI_ANY_ID, acsEnabled: pci_quirk_intel_pch_acs },
    { vendor: PCI_VENDOR_ID_INTEL, device: PCI_ANY_ID, acsEnabled: pci_quirk_intel_spt_pch_acs },
    { vendor: 0x19a2, device: 0x0710, acsEnabled: pci_quirk_mf_endpoint_acs }, // Emulex BE3-R
    { vendor: 0x10df, device: 0x0720, acsEnabled: pci_quirk_mf_endpoint_acs }, // Emulex Skyhawk-R
    { vendor: PCI_VENDOR_ID_CAVIUM, device: PCI_ANY_ID, acsEnabled: pci_quirk_cavium_acs },
    ...entries(PCI_VENDOR_ID_CAVIUM, [0xa026, 0xa059, 0xa060], pci_quirk_mf_endpoint_acs),
    { vendor: PCI_VENDOR_ID_AMCC, device: 0xe004, acsEnabled: pci_quirk_isolated_rp },
    ...entries(PCI_VENDOR_ID_AMPERE, idRange(0xe005, 0xe00c), pci_quirk_isolated_rp),
    ...entries(PCI_VENDOR_ID_BROADCOM, [0x16d7, 0x1750, 0x1751, 0x1752, 0x1760, 0x1761, 0x1762, 0x1763], pci_quirk_mf_endpoint_acs),
    { vendor: PCI_VENDOR_ID_BROADCOM, device: 0xd714, acsEnabled: pci_quirk_isolated_rp },
    ...entries(PCI_VENDOR_ID_LOONGSON, [0x3c09, 0x3c19, 0x3c29, 0x7a09, 0x7a19, 0x7a29, 0x7a39, 0x7a49, 0x7a59, 0x7a69], pci_quirk_isolated_rp),
    { vendor: PCI_VENDOR_ID_AMAZON_ANNAPURNA_LABS, device: 0x0031, acsEnabled: pci_quirk_al_acs },
    ...entries(PCI_VENDOR_ID_ZHAOXIN, [0x3038, 0x3104, 0x9083], pci_quirk_mf_endpoint_acs),
    ...entries(PCI_VENDOR_ID_NXP, [
        0x8d81, 0x8da1, 0x8d83, 0x8d80, 0x8da0, 0x8d82, 0x8d90, 0x8db0, 0x8d92, 0x8d91, 0x8db1, 0x8d93,
        0x8d89, 0x8da9, 0x8d8b, 0x8d88, 0x8da8, 0x8d8a, 0x8d98, 0x8db8, 0x8d9a, 0x8d99, 0x8db9, 0x8d9b,
    ], pci_quirk_isolated_rp),
    { vendor: PCI_VENDOR_ID_ZHAOXIN, device: PCI_ANY_ID, acsEnabled: pci_quirk_zhaoxin_pcie_ports_acs },
    { vendor: PCI_VENDOR_ID_WANGXUN, device: PCI_ANY_ID, acsEnabled: pci_quirk_wangxun_nic_acs },
];

/**
 * `pci_dev_specific_acs_enabled()`: -ENOTTY (negative) when no quirk answers, 0 when the device
 * does not provide all of `acsFlags`, > 0 when it does.
 */
export function pci_dev_specific_acs_enabled(dev: PciDev, acsFlags: number, ctx: AcsQuirkContext): number {
    for (const entry of PCI_DEV_ACS_ENABLED) {
        const vendorMatch = entry.vendor === dev.vendor || entry.vendor === PCI_ANY_ID;
        const deviceMatch = entry.device === dev.deviceId || entry.device === PCI_ANY_ID;
        if (vendorMatch && deviceMatch) {
            const ret = entry.acsEnabled(dev, acsFlags, ctx);
            if (ret >= 0) {
                return ret;
            }
        }
    }
    return -ENOTTY;
}
