/**
 * Kernel and module parameters from a machine's `cmdline`, as Linux reads them at boot
 * (`module.param=value`, `iommu=pt`, `intel_iommu=sp_off`...). Unknown parameters are kept (Linux
 * passes them to init) and reported so a typo does not silently change nothing.
 */

import type { KernelParams } from './state.js';

export interface ParsedParams {
    readonly params: KernelParams;
    /** Parameters the engine does not model, by name. */
    readonly unknown: readonly string[];
    /** Values it could not parse ("dma_entry_limit=abc"). */
    readonly invalid: readonly string[];
}

/** Module parameters and boot options the engine models, with their defaults. */
const KNOWN = new Set([
    'vfio_iommu_type1.allow_unsafe_interrupts',
    'vfio_iommu_type1.dma_entry_limit',
    'vfio_iommu_type1.disable_hugepages',
    'iommufd.allow_unsafe_interrupts',
    'vfio.enable_unsafe_noiommu_mode',
    'iommu.passthrough',
    'iommu',
    'intel_iommu',
    'amd_iommu',
    'iommufd.vfio_container',
]);

/** `bool` module params accept 1/0, y/n, Y/N, true/false (`param_set_bool` → `kstrtobool`). */
function parseBool(v: string | undefined): boolean | undefined {
    if (v === undefined || v === '') {
        return true;
    }
    if (/^(1|y|Y|t|T|on)/.test(v) && !/^(of)/i.test(v)) {
        return true;
    }
    if (/^(0|n|N|f|F|of)/.test(v)) {
        return false;
    }
    return undefined;
}

/** Splits a command line as the kernel does (`next_arg`): spaces separate, quotes group. */
export function splitCmdline(cmdline: string): Array<[string, string | undefined]> {
    const out: Array<[string, string | undefined]> = [];
    const re = /(?:[^\s"]+|"[^"]*")+/g;
    for (const m of cmdline.match(re) ?? []) {
        const token = m.replace(/"/g, '');
        const eq = token.indexOf('=');
        // `-` and `_` are interchangeable in parameter names (`parameq`).
        const name = (eq < 0 ? token : token.slice(0, eq)).replace(/-/g, '_');
        out.push([name, eq < 0 ? undefined : token.slice(eq + 1)]);
    }
    return out;
}

export function parseCmdline(cmdline: string | undefined): ParsedParams {
    const raw: Record<string, string> = {};
    const unknown: string[] = [];
    const invalid: string[] = [];
    let type1AllowUnsafeInterrupts = false;
    let iommufdAllowUnsafeInterrupts = false;
    let dmaEntryLimit = 65535;
    let type1DisableHugepages = false;
    let enableUnsafeNoiommuMode = false;
    let passthrough = false;
    let iommufdVfioContainer = false;
    let intelSpOff = false;

    for (const [name, value] of splitCmdline(cmdline ?? '')) {
        raw[name] = value ?? '';
        const bool = () => {
            const b = parseBool(value);
            if (b === undefined) {
                invalid.push(`${name}=${value}`);
            }
            return b ?? false;
        };
        switch (name) {
            case 'vfio_iommu_type1.allow_unsafe_interrupts':
                type1AllowUnsafeInterrupts = bool();
                break;
            case 'iommufd.allow_unsafe_interrupts':
                iommufdAllowUnsafeInterrupts = bool();
                break;
            case 'vfio_iommu_type1.disable_hugepages':
                type1DisableHugepages = bool();
                break;
            case 'vfio.enable_unsafe_noiommu_mode':
                enableUnsafeNoiommuMode = bool();
                break;
            case 'iommufd.vfio_container':
                iommufdVfioContainer = bool();
                break;
            case 'iommu.passthrough':
                passthrough = bool();
                break;
            case 'vfio_iommu_type1.dma_entry_limit': {
                // `module_param_named(dma_entry_limit, dma_entry_limit, uint, 0644)`
                const n = value !== undefined && /^(0x[0-9a-f]+|\d+)$/i.test(value) ? Number(value) : NaN;
                if (!Number.isFinite(n) || n > 0xffff_ffff) {
                    invalid.push(`${name}=${value ?? ''}`);
                } else {
                    dmaEntryLimit = n;
                }
                break;
            }
            case 'iommu':
                // `iommu=pt` selects identity default domains (`iommu_setup`, arch/x86/kernel/pci-dma.c).
                if (value === 'pt') {
                    passthrough = true;
                } else if (value === 'nopt') {
                    passthrough = false;
                }
                break;
            case 'intel_iommu':
                for (const opt of (value ?? '').split(',')) {
                    if (opt === 'sp_off') {
                        intelSpOff = true;
                    }
                }
                break;
            default:
                if (!KNOWN.has(name)) {
                    unknown.push(name);
                }
        }
    }
    return {
        params: {
            type1AllowUnsafeInterrupts, iommufdAllowUnsafeInterrupts, dmaEntryLimit, type1DisableHugepages,
            enableUnsafeNoiommuMode, passthrough, iommufdVfioContainer, intelSpOff, raw,
        },
        unknown,
        invalid,
    };
}
