/**
 * Readable builders for `MachineSpec`s in tests, shaped like the language's `machine` block:
 *
 *     machine(vtd('dmar0'), pci(0, 'dmar0',
 *         rp('00:1c.0', 'rp0', { acs: true }, ep('01:00.0', 'nvme0')),
 *     ))
 */

import type { SourceLocation } from '../../../engine/location.js';
import type {
    AcsFlag, Bdf, EndpointSpec, IommuKind, IommuSpec, MachineSpec, PciNodeSpec, PciSegmentSpec, PlatformDeviceSpec,
} from '../../../engine/machine/spec.js';
import { parseBdf } from '../../../engine/machine/spec.js';
import type { AcsLookup } from '../../../engine/machine/acs.js';
import { deriveGroups, groupingPlatform } from '../../../engine/machine/groups.js';
import { enumeratePci } from '../../../engine/machine/topology.js';
import type { PciDev } from '../../../engine/state.js';

/** A node builder: the element, once its segment is known. */
export type NodeBuilder = (segment: number) => PciNodeSpec;

export interface FnAttrs {
    /** `acs` (true) or `acs(sv rr ...)`. */
    readonly acs?: true | readonly AcsFlag[];
    /** `id VVVV:DDDD`. */
    readonly id?: string;
    readonly driver?: string | null;
    /** Source line of the element (0-based), for diagnostics. */
    readonly line?: number;
}

export interface EndpointAttrs extends FnAttrs {
    readonly conventional?: boolean;
    readonly className?: string;
    readonly sriov?: number;
    readonly pasid?: number;
    readonly ats?: boolean;
    readonly pri?: boolean;
    readonly noSnoop?: boolean;
    /** `dma-alias` addresses, short (`02:00.0`) or full form. */
    readonly dmaAlias?: readonly string[];
    /** `reset flr pm bus`: the reset methods VFIO reports. */
    readonly resets?: EndpointSpec['resets'];
    /** An RMRR the firmware requires a 1:1 mapping for (`iommu_device_set_domain` refuses blocking). */
    readonly requireDirect?: boolean;
}

export interface BridgeAttrs extends FnAttrs {
    readonly conventional?: boolean;
}

/** A location on one line, as the language server would give. */
export function lineLoc(line: number): SourceLocation {
    return { start: { line, character: 0 }, end: { line, character: 1 } };
}

function bdfOf(text: string, segment: number): Bdf {
    const bdf = parseBdf(text, segment);
    if (!bdf) {
        throw new Error(`bad BDF ${text}`);
    }
    return bdf;
}

function common(text: string, segment: number, name: string | undefined, attrs: FnAttrs) {
    let vendor: number | undefined;
    let deviceId: number | undefined;
    if (attrs.id !== undefined) {
        const [v, d] = attrs.id.split(':');
        vendor = parseInt(v!, 16);
        deviceId = parseInt(d!, 16);
    }
    const acs = attrs.acs === undefined ? undefined
        : { enabled: attrs.acs === true ? (['sv', 'rr', 'cr', 'uf'] as AcsFlag[]) : attrs.acs };
    return {
        name, bdf: bdfOf(text, segment), vendor, deviceId, driver: attrs.driver, acs,
        loc: attrs.line === undefined ? undefined : lineLoc(attrs.line),
    };
}

/** `endpoint BDF NAME { ... }`. */
export function ep(bdf: string, name?: string, attrs: EndpointAttrs = {}): NodeBuilder {
    return (segment) => ({
        type: 'endpoint',
        ...common(bdf, segment, name, attrs),
        conventional: attrs.conventional,
        className: attrs.className,
        sriov: attrs.sriov,
        pasidWidth: attrs.pasid,
        ats: attrs.ats,
        pri: attrs.pri,
        noSnoop: attrs.noSnoop,
        dmaAliases: attrs.dmaAlias?.map((a) => bdfOf(a, segment)),
        resets: attrs.resets,
        requireDirect: attrs.requireDirect,
    });
}

/** `root-port BDF NAME attrs { children }`. */
export function rp(bdf: string, name: string | undefined, attrs: FnAttrs, ...children: NodeBuilder[]): NodeBuilder {
    return (segment) => ({ type: 'root-port', ...common(bdf, segment, name, attrs), children: children.map((c) => c(segment)) });
}

/** `downstream BDF NAME attrs { children }`. */
export function ds(bdf: string, name: string | undefined, attrs: FnAttrs, ...children: NodeBuilder[]): NodeBuilder {
    return (segment) => ({ type: 'downstream', ...common(bdf, segment, name, attrs), children: children.map((c) => c(segment)) });
}

/** `switch BDF NAME attrs { downstream ... }`. */
export function sw(bdf: string, name: string | undefined, attrs: FnAttrs, ...ports: NodeBuilder[]): NodeBuilder {
    return (segment) => ({
        type: 'switch', ...common(bdf, segment, name, attrs),
        ports: ports.map((p) => {
            const port = p(segment);
            if (port.type !== 'downstream') {
                throw new Error('switch ports are downstream ports');
            }
            return port;
        }),
    });
}

/** `pci-bridge BDF NAME [conventional] { children }`. */
export function bridge(bdf: string, name: string | undefined, attrs: BridgeAttrs, ...children: NodeBuilder[]): NodeBuilder {
    return (segment) => ({
        type: 'pci-bridge', ...common(bdf, segment, name, attrs), conventional: attrs.conventional,
        children: children.map((c) => c(segment)),
    });
}

/** `pci SEGMENT [iommu UNIT] { children }`. */
export function pci(segment: number, iommu: string | undefined, ...children: NodeBuilder[]): PciSegmentSpec {
    return { segment, iommu, children: children.map((c) => c(segment)) };
}

/** A non-PCI device behind a unit. */
export function platformDev(name: string, iommu?: string): PlatformDeviceSpec {
    return { name, iommu };
}

function unit(name: string, kind: IommuKind): IommuSpec {
    return { name, kind, features: ['coherent', 'enforce-coherency', 'intr-remap'] };
}

export const vtd = (name: string): IommuSpec => unit(name, 'intel-vtd');
export const amdvi = (name: string): IommuSpec => unit(name, 'amd-vi');
export const smmuv3 = (name: string): IommuSpec => unit(name, 'arm-smmu-v3');

/** A machine from its units, `pci` blocks and platform devices, in declaration order. */
export function machine(...parts: Array<IommuSpec | PciSegmentSpec | PlatformDeviceSpec>): MachineSpec {
    return {
        name: 'test',
        iommus: parts.filter((p): p is IommuSpec => 'kind' in p),
        segments: parts.filter((p): p is PciSegmentSpec => 'segment' in p),
        platform: parts.filter((p): p is PlatformDeviceSpec => !('kind' in p) && !('segment' in p)),
        mdevs: [],
    };
}

/** Derived groups as `{ id: [names in probe order] }`. */
export function groupsOf(spec: MachineSpec): Record<number, string[]> {
    const out: Record<number, string[]> = {};
    for (const g of deriveGroups(spec).groups) {
        out[g.id] = g.devices;
    }
    return out;
}

/** The enumerated machine as the lookup ACS and DMA-alias code read (`ivrs` from its units). */
export function lookupOf(spec: MachineSpec): AcsLookup & { dev(name: string): PciDev } {
    const { devices } = enumeratePci(spec);
    const byName = new Map(devices.map((d) => [d.name, d.pci]));
    return {
        ivrs: groupingPlatform(spec).ivrs ?? false,
        pciDev: (name) => byName.get(name),
        dev: (name) => {
            const pci = byName.get(name);
            if (!pci) {
                throw new Error(`no device ${name}`);
            }
            return pci;
        },
    };
}
