/**
 * ACS Capability/Control register bits (`include/uapi/linux/pci_regs.h`, `PCI_ACS_*`) and the
 * translation of a machine's `acs` / `acs(sv rr ...)` attribute into an `AcsState`.
 */

import type { AcsState } from '../state.js';
import type { AcsFlag, AcsSpec } from './spec.js';

export const PCI_ACS_SV = 0x0001;
export const PCI_ACS_TB = 0x0002;
export const PCI_ACS_RR = 0x0004;
export const PCI_ACS_CR = 0x0008;
export const PCI_ACS_UF = 0x0010;
export const PCI_ACS_EC = 0x0020;
export const PCI_ACS_DT = 0x0040;

/**
 * What IOMMU grouping asks of every bridge and multifunction device (`drivers/iommu/iommu.c`):
 * Source Validation, P2P Request Redirect, P2P Completion Redirect, Upstream Forwarding.
 */
export const REQ_ACS_FLAGS = PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF;

const FLAG_BITS: Readonly<Record<AcsFlag, number>> = {
    sv: PCI_ACS_SV, tb: PCI_ACS_TB, rr: PCI_ACS_RR, cr: PCI_ACS_CR, uf: PCI_ACS_UF, ec: PCI_ACS_EC, dt: PCI_ACS_DT,
};

/** The register bits of a list of language flags. */
export function acsBits(flags: readonly AcsFlag[]): number {
    return flags.reduce((bits, f) => bits | FLAG_BITS[f], 0);
}

/**
 * The ACS capability a function ends up with after enumeration. The capability implements at
 * least SV, RR, CR and UF (what `pci_std_enable_acs` turns on), plus whatever else is named; the
 * control register holds exactly the named flags. So plain `acs` (all four enabled) isolates,
 * while `acs(sv rr)` leaves CR and UF implemented but off, which `pci_acs_flags_enabled` rejects.
 */
export function acsStateFromSpec(acs: AcsSpec | undefined): AcsState | undefined {
    if (!acs) {
        return undefined;
    }
    const ctrl = acsBits(acs.enabled);
    return { cap: REQ_ACS_FLAGS | ctrl, ctrl };
}

/** `pci_acs_ctrl_enabled()` of `drivers/pci/quirks.c`: 1 when every requested control is provided. */
export function pci_acs_ctrl_enabled(acsCtrlReq: number, acsCtrlEna: number): number {
    return (acsCtrlReq & acsCtrlEna) === acsCtrlReq ? 1 : 0;
}
