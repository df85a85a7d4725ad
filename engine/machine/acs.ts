/**
 * PCIe Access Control Services as IOMMU grouping sees them (`drivers/pci/pci.c`):
 * `pci_acs_flags_enabled`, `pci_acs_enabled`, `pci_acs_path_enabled`.
 */

import type { PciDev } from '../state.js';
import { PCI_ACS_EC } from './acs-flags.js';
import { onRootBus, pci_is_pcie, pci_pcie_type, type PciLookup } from './pci.js';
import { pci_dev_specific_acs_enabled, type AcsQuirkContext } from './quirks.js';

export {
    PCI_ACS_CR, PCI_ACS_DT, PCI_ACS_EC, PCI_ACS_RR, PCI_ACS_SV, PCI_ACS_TB, PCI_ACS_UF, REQ_ACS_FLAGS,
    acsStateFromSpec,
} from './acs-flags.js';

/** What ACS checks need beyond the device itself: its neighbours, and machine-wide quirk inputs. */
export interface AcsLookup extends PciLookup, AcsQuirkContext {}

/**
 * `pci_acs_flags_enabled()`: the device has an ACS capability and every requested flag it
 * implements is on. A flag missing from the capability register counts as hard-wired enabled,
 * except Egress Control, which is always required when asked.
 */
export function pci_acs_flags_enabled(dev: PciDev, acsFlags: number): boolean {
    if (!dev.acs) {
        return false;
    }
    const flags = acsFlags & (dev.acs.cap | PCI_ACS_EC);
    return (dev.acs.ctrl & flags) === flags;
}

/** `pci_acs_enabled()`: whether `dev` provides `acsFlags`, quirks first. */
export function pci_acs_enabled(dev: PciDev, acsFlags: number, lookup: AcsQuirkContext): boolean {
    const ret = pci_dev_specific_acs_enabled(dev, acsFlags, lookup);
    if (ret >= 0) {
        return ret > 0;
    }
    // Conventional PCI and PCI-X functions share a bus: any of them can see any DMA.
    if (!pci_is_pcie(dev)) {
        return false;
    }
    switch (pci_pcie_type(dev)) {
        // PCIe r3.0 6.12.1 excludes ACS on PCIe-to-PCI/X bridges (and RC event collectors).
        case 'PCI_BRIDGE':
            return false;
        // Root and downstream ports must implement ACS to say they block peer-to-peer.
        case 'DOWNSTREAM':
        case 'ROOT_PORT':
            return pci_acs_flags_enabled(dev, acsFlags);
        // Other functions need ACS only as part of a multifunction device (PCIe r3.0 6.12.1.2).
        case 'ENDPOINT':
        case 'UPSTREAM':
        case 'LEG_END':
        case 'RC_END':
            if (!dev.multifunction) {
                return true;
            }
            return pci_acs_flags_enabled(dev, acsFlags);
        default:
            return true;
    }
}

/**
 * `pci_acs_path_enabled(start, end, flags)`: every device from `start` up to `end` (or, with no
 * `end`, up to the root bus) provides `acsFlags`. Walks `pdev->bus->self`.
 */
export function pci_acs_path_enabled(start: string, end: string | undefined, acsFlags: number, lookup: AcsLookup): boolean {
    let name: string | undefined = start;
    for (;;) {
        const pdev: PciDev | undefined = name === undefined ? undefined : lookup.pciDev(name);
        if (!pdev || name === undefined) {
            return false;
        }
        if (!pci_acs_enabled(pdev, acsFlags, lookup)) {
            return false;
        }
        if (onRootBus(pdev)) {
            return end === undefined;
        }
        if (name === end) {
            return true;
        }
        name = pdev.upstream;
    }
}
