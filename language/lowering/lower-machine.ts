/**
 * Lowers a `machine { ... }` block to the engine's {@link MachineSpec}. Words outside the
 * vocabulary (an unknown feature, a malformed address) are left out here; the machine
 * validator reports them.
 */

import { GrammarUtils } from 'langium';
import {
    parseBdf, type AcsSpec, type Bdf, type DownstreamPortSpec, type EndpointSpec, type IommuSpec, type KernelVersion,
    type MachineSpec, type MdevSpec, type PciNodeSpec, type PciSegmentSpec, type PlatformDeviceSpec,
} from '../../engine/machine/spec.js';
import {
    isEndpoint, isPciBridge, isPciSwitch, isRootPort,
    type Acs, type DownstreamPort, type Endpoint, type IommuUnit, type Machine, type MachineMdev, type PciNode,
    type PciSegment, type PlatformDevice,
} from '../generated/ast.js';
import { parseBareHex } from '../parser/number-literal.js';
import {
    DEFAULT_ACS, isAcsFlag, isIommuFeature, isIommuKind, isResetMethod,
} from './machine-vocabulary.js';
import { compact, locationOf } from './source-location.js';
import { staticValue } from './static-value.js';

/** The engine's description of a machine block. */
export function lowerMachine(machine: Machine): MachineSpec {
    const memory = staticValue(machine.memory);
    const pageSize = staticValue(machine.pageSize);
    return compact<MachineSpec>({
        name: machine.name,
        kernel: machine.kernel === undefined ? undefined : parseKernelVersion(machine.kernel),
        memory,
        pageSize: pageSize === undefined ? undefined : Number(pageSize),
        cmdline: machine.cmdline,
        iommus: machine.iommus.map(lowerIommu),
        segments: machine.segments.map(lowerSegment),
        platform: machine.platforms.map(lowerPlatform),
        mdevs: machine.mdevs.map(lowerMachineMdev),
        loc: locationOf(machine),
    });
}

/** `6.12` → `{ major: 6, minor: 12 }`; `7` → 7.0. */
export function parseKernelVersion(text: string): KernelVersion | undefined {
    const match = /^(\d+)(?:\.(\d+))?$/.exec(text);
    return match ? { major: Number(match[1]), minor: Number(match[2] ?? 0) } : undefined;
}

/** The segment number of a `pci` block, read as hex (`pci 0001`). */
export function segmentNumber(segment: PciSegment): number | undefined {
    const text = GrammarUtils.findNodeForProperty(segment.$cstNode, 'segment')?.text;
    return text === undefined ? undefined : parseBareHex(text);
}

/** `8086:9a49` → vendor and device ID. */
export function parsePciId(text: string | undefined): { vendor?: number; deviceId?: number } {
    const match = text === undefined ? null : /^([0-9a-fA-F]{4}):([0-9a-fA-F]{4})$/.exec(text);
    return match ? { vendor: parseInt(match[1]!, 16), deviceId: parseInt(match[2]!, 16) } : {};
}

/** The driver a function is bound to at boot: `none` is unbound (`null`). */
export function lowerDriver(driver: string | undefined): string | null | undefined {
    return driver === 'none' ? null : driver;
}

function lowerIommu(unit: IommuUnit): IommuSpec {
    const mode = unit.mode === 'scalable' || unit.mode === 'legacy' ? unit.mode : undefined;
    return compact<IommuSpec>({
        name: unit.name,
        kind: isIommuKind(unit.kind) ? unit.kind : 'intel-vtd',
        addressWidth: toNumber(unit.addressWidth),
        pageSizes: unit.pageSizes.length > 0 ? [...unit.pageSizes] : undefined,
        pasidWidth: toNumber(unit.pasidWidth),
        features: unit.features.filter(isIommuFeature),
        mode,
        loc: locationOf(unit),
    });
}

function lowerSegment(segment: PciSegment): PciSegmentSpec {
    const number = segmentNumber(segment) ?? 0;
    return compact<PciSegmentSpec>({
        segment: number,
        iommu: segment.iommu?.$refText,
        children: lowerNodes(segment.children, number),
        loc: locationOf(segment),
    });
}

function lowerNodes(nodes: readonly PciNode[], segment: number): PciNodeSpec[] {
    return nodes.flatMap(node => {
        const lowered = lowerNode(node, segment);
        return lowered ? [lowered] : [];
    });
}

function lowerNode(node: PciNode, segment: number): PciNodeSpec | undefined {
    const bdf = parseBdf(node.bdf, segment);
    if (!bdf) {
        return undefined;
    }
    const common = {
        name: node.name,
        bdf,
        ...parsePciId(node.pciId),
        driver: lowerDriver(node.driver),
        acs: lowerAcs(node.acs),
        loc: locationOf(node),
    };
    if (isEndpoint(node)) {
        return lowerEndpoint(node, common, segment);
    }
    if (isRootPort(node)) {
        return compact<PciNodeSpec>({ type: 'root-port', ...common, children: lowerNodes(node.children, segment) });
    }
    if (isPciSwitch(node)) {
        const ports = node.ports.flatMap(port => {
            const lowered = lowerDownstream(port, segment);
            return lowered ? [lowered] : [];
        });
        return compact<PciNodeSpec>({ type: 'switch', ...common, ports });
    }
    if (isPciBridge(node)) {
        return compact<PciNodeSpec>({
            type: 'pci-bridge', ...common, conventional: node.conventional || undefined, children: lowerNodes(node.children, segment),
        });
    }
    return undefined;
}

function lowerDownstream(port: DownstreamPort, segment: number): DownstreamPortSpec | undefined {
    const bdf = parseBdf(port.bdf, segment);
    if (!bdf) {
        return undefined;
    }
    return compact<DownstreamPortSpec>({
        type: 'downstream',
        name: port.name,
        bdf,
        ...parsePciId(port.pciId),
        driver: lowerDriver(port.driver),
        acs: lowerAcs(port.acs),
        children: lowerNodes(port.children, segment),
        loc: locationOf(port),
    });
}

function lowerEndpoint(node: Endpoint, common: Omit<EndpointSpec, 'type'>, segment: number): EndpointSpec {
    const aliases = node.dmaAliases.map(a => parseBdf(a, segment)).filter((b): b is Bdf => b !== undefined);
    const resets = node.resets.filter(isResetMethod);
    return compact<EndpointSpec>({
        type: 'endpoint',
        ...common,
        className: node.className,
        conventional: node.conventional || undefined,
        pasidWidth: toNumber(node.pasidWidth),
        ats: node.ats || undefined,
        pri: node.pri || undefined,
        sriov: toNumber(node.sriov),
        noSnoop: node.noSnoop || undefined,
        dmaAliases: aliases.length > 0 ? aliases : undefined,
        resets: resets.length > 0 ? resets : undefined,
        requireDirect: node.requireDirect || undefined,
    });
}

function lowerAcs(acs: Acs | undefined): AcsSpec | undefined {
    if (!acs) {
        return undefined;
    }
    const written = acs.$cstNode?.text.includes('(') ?? false;
    return { enabled: written ? acs.flags.filter(isAcsFlag) : [...DEFAULT_ACS] };
}

function lowerPlatform(device: PlatformDevice): PlatformDeviceSpec {
    return compact<PlatformDeviceSpec>({
        name: device.name,
        iommu: device.iommu?.$refText,
        driver: lowerDriver(device.driver),
        pasidWidth: toNumber(device.pasidWidth),
        noSnoop: device.noSnoop || undefined,
        loc: locationOf(device),
    });
}

function lowerMachineMdev(mdev: MachineMdev): MdevSpec {
    return compact<MdevSpec>({
        name: mdev.name,
        parent: mdev.parent?.$refText ?? '',
        kind: mdev.kind,
        loc: locationOf(mdev),
    });
}

function toNumber(value: bigint | undefined): number | undefined {
    return value === undefined ? undefined : Number(value);
}
