/**
 * The `drivers/pci/quirks.c` header fixups that give a function extra requester IDs
 * (`pci_add_dma_alias` into `dma_alias_mask`) or change how a bridge aliases the devices below it
 * (`dev_flags`). All key on vendor/device IDs, so they fire only for IDs the user wrote.
 *
 * Not modelled: `quirk_switchtec_ntb_dma_alias` (reads the NTB partition configuration from the
 * device) and `quirk_fixed_dma_alias` unless a subsystem ID is given (it matches Adaptec 3405/3805
 * by subsystem, which the machine language does not carry).
 */

import type { PciDev } from '../state.js';
import {
    PCI_DEVICE_ID_JMICRON_JMB388_ESD, PCI_VENDOR_ID_ADAPTEC2, PCI_VENDOR_ID_ASMEDIA, PCI_VENDOR_ID_ASPEED,
    PCI_VENDOR_ID_BROADCOM, PCI_VENDOR_ID_GLENFLY, PCI_VENDOR_ID_INTEL, PCI_VENDOR_ID_JMICRON,
    PCI_VENDOR_ID_MARVELL_EXT, PCI_VENDOR_ID_PLX, PCI_VENDOR_ID_RICOH, PCI_VENDOR_ID_TTI,
} from './pci-ids.js';
import { onRootBus, PCI_DEVFN, PCI_SLOT, pci_is_pcie, pci_pcie_type, type PciLookup } from './pci.js';

type IdList = ReadonlyArray<readonly [number, number]>;

function matches(list: IdList, vendor: number, device: number): boolean {
    return list.some(([v, d]) => v === vendor && d === device);
}

/** `quirk_dma_func0_alias`: function N also DMAs as function 0 (Ricoh, Glenfly). */
const DMA_FUNC0_ALIAS: IdList = [
    [PCI_VENDOR_ID_RICOH, 0xe832], [PCI_VENDOR_ID_RICOH, 0xe476],
    [PCI_VENDOR_ID_GLENFLY, 0x3d40], [PCI_VENDOR_ID_GLENFLY, 0x3d41],
];

/** `quirk_dma_func1_alias`: DMAs as function 1, present or not (Marvell SATA, TTI, JMicron, Plextor). */
const DMA_FUNC1_ALIAS: IdList = [
    ...[0x9120, 0x9123, 0x9125, 0x9128, 0x9130, 0x9170, 0x9172, 0x917a, 0x9182, 0x9183, 0x91a0,
        0x9215, 0x9220, 0x9230, 0x9235].map((d) => [PCI_VENDOR_ID_MARVELL_EXT, d] as const),
    [PCI_VENDOR_ID_TTI, 0x0642], [PCI_VENDOR_ID_TTI, 0x0645],
    [PCI_VENDOR_ID_JMICRON, PCI_DEVICE_ID_JMICRON_JMB388_ESD],
    [0x1c28, 0x0122], // Lite-On Plextor M6E (Marvell 88SS9183)
];

/** `quirk_mic_x200_dma_alias`: Intel MIC x200 NTB forwards with RIDs 10.0, 11.0, 12.3. */
const MIC_X200: IdList = [[PCI_VENDOR_ID_INTEL, 0x2260], [PCI_VENDOR_ID_INTEL, 0x2264]];

/** `quirk_pex_vca_alias`: Intel VCA, every slot's functions 0-4 (the whole card one group). */
const PEX_VCA: IdList = [0x2954, 0x2955, 0x2956, 0x2958, 0x2959, 0x295a].map((d) => [PCI_VENDOR_ID_INTEL, d] as const);

/** `quirk_plx_ntb_dma_alias`: PLX NTB proxy IDs, all 256 devfns. */
const PLX_NTB: IdList = [[PCI_VENDOR_ID_PLX, 0x87b0], [PCI_VENDOR_ID_PLX, 0x87b1]];

/** `fixed_dma_alias_tbl[]` of `quirk_fixed_dma_alias`: Adaptec 3405/3805 DMA engine at 01.0. */
const FIXED_DMA_ALIAS: ReadonlyArray<{ readonly subsystem: readonly [number, number]; readonly devfn: number }> = [
    { subsystem: [PCI_VENDOR_ID_ADAPTEC2, 0x02bb], devfn: PCI_DEVFN(1, 0) },
    { subsystem: [PCI_VENDOR_ID_ADAPTEC2, 0x02bc], devfn: PCI_DEVFN(1, 0) },
];

/**
 * The devfns the header quirks add to `dma_alias_mask` of a function with these IDs at `devfn`
 * (same bus, as `pci_add_dma_alias` records them).
 */
export function quirkDmaAliasDevfns(
    vendor: number, device: number, devfnValue: number, subsystem?: readonly [number, number],
): number[] {
    const slot = PCI_SLOT(devfnValue);
    const fn = devfnValue & 7;
    const out: number[] = [];
    if (matches(DMA_FUNC0_ALIAS, vendor, device) && fn !== 0) {
        out.push(PCI_DEVFN(slot, 0));
    }
    if (matches(DMA_FUNC1_ALIAS, vendor, device) && fn !== 1) {
        out.push(PCI_DEVFN(slot, 1));
    }
    if (vendor === PCI_VENDOR_ID_ADAPTEC2 && device === 0x0285 && subsystem) {
        const entry = FIXED_DMA_ALIAS.find((e) => e.subsystem[0] === subsystem[0] && e.subsystem[1] === subsystem[1]);
        if (entry) {
            out.push(entry.devfn);
        }
    }
    if (matches(MIC_X200, vendor, device)) {
        out.push(PCI_DEVFN(0x10, 0), PCI_DEVFN(0x11, 0), PCI_DEVFN(0x12, 3));
    }
    if (matches(PEX_VCA, vendor, device)) {
        for (let s = 0; s < 0x20; s++) {
            for (let f = 0; f < 5; f++) {
                out.push(PCI_DEVFN(s, f));
            }
        }
    }
    if (matches(PLX_NTB, vendor, device)) {
        for (let d = 0; d < 256; d++) {
            out.push(d);
        }
    }
    return out;
}

/** `PCI_DEV_FLAGS_BRIDGE_XLATE_ROOT` (`quirk_bridge_cavm_thrx2_pcie_root`): the IOMMU sits at this bridge. */
export function bridgeXlateRoot(dev: PciDev): boolean {
    return dev.vendor === PCI_VENDOR_ID_BROADCOM && (dev.deviceId === 0x9000 || dev.deviceId === 0x9084);
}

/** `PCI_DEV_FLAGS_PCI_BRIDGE_NO_ALIAS` (ASPEED AST1150): a PCIe-to-PCI bridge that forwards the real RID. */
export function pciBridgeNoAlias(dev: PciDev): boolean {
    return dev.vendor === PCI_VENDOR_ID_ASPEED && dev.deviceId === 0x1150;
}

const PCIE_BRIDGE_ALIAS: IdList = [
    [PCI_VENDOR_ID_ASMEDIA, 0x1080], [0x10e3, 0x8113], [0x1283, 0x8892], [0x1283, 0x8893], [PCI_VENDOR_ID_INTEL, 0x244e],
];

/**
 * `PCI_DEV_FLAG_PCIE_BRIDGE_ALIAS` (`quirk_use_pcie_bridge_dma_alias`): a listed bridge without a
 * PCIe capability, not on a root bus, below a PCIe port that is not itself a PCIe-to-PCI bridge,
 * is really a PCIe-to-PCI bridge hiding its capability: it aliases to (secondary bus, 00.0).
 */
export function pcieBridgeAlias(dev: PciDev, lookup: PciLookup): boolean {
    if (!matches(PCIE_BRIDGE_ALIAS, dev.vendor, dev.deviceId)) {
        return false;
    }
    if (onRootBus(dev) || dev.type !== 'pci-bridge' || dev.upstream === undefined) {
        return false;
    }
    const self = lookup.pciDev(dev.upstream);
    return self !== undefined && pci_is_pcie(self) && pci_pcie_type(self) !== 'PCI_BRIDGE';
}
