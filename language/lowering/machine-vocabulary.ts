/**
 * The words a machine block may use where the grammar takes a name: IOMMU kinds, features,
 * modes, ACS flags, reset methods. Validators check against these lists; lowering keeps only
 * what is in them.
 */

import {
    ACS_FLAGS, IOMMU_FEATURES, type AcsFlag, type IommuFeature, type IommuKind, type PciResetMethod,
} from '../../engine/machine/spec.js';

/** IOMMU kinds the engine models (`iommu dmar0 intel-vtd`). */
export const IOMMU_KINDS: readonly IommuKind[] = ['intel-vtd', 'amd-vi', 'arm-smmu-v3'];
/** VT-d translation modes (`mode scalable|legacy`). */
export const IOMMU_MODES: readonly string[] = ['scalable', 'legacy'];
/** PCI reset methods as Linux's `reset_method` names them (`reset flr pm bus`). */
export const RESET_METHODS: readonly PciResetMethod[] = ['flr', 'pm', 'bus', 'af_flr', 'device_specific'];
/** Plain `acs`: the flags Linux requires for isolation, all enabled. */
export const DEFAULT_ACS: readonly AcsFlag[] = ['sv', 'rr', 'cr', 'uf'];

/** Whether a word is an IOMMU kind. */
export function isIommuKind(word: string): word is IommuKind {
    return (IOMMU_KINDS as readonly string[]).includes(word);
}

/** Whether a word is an IOMMU feature. */
export function isIommuFeature(word: string): word is IommuFeature {
    return (IOMMU_FEATURES as readonly string[]).includes(word);
}

/** Whether a word is an ACS flag. */
export function isAcsFlag(word: string): word is AcsFlag {
    return (ACS_FLAGS as readonly string[]).includes(word);
}

/** Whether a word is a PCI reset method. */
export function isResetMethod(word: string): word is PciResetMethod {
    return (RESET_METHODS as readonly string[]).includes(word);
}
