/**
 * The names a machine declares: its devices (PCI functions with a name, platform devices,
 * mdevs), its IOMMU units, and the virtual functions `pf.vfN` of endpoints with `sriov N`.
 */

import { AstUtils, type AstNode, type AstNodeDescription, type LangiumCoreServices } from 'langium';
import type { AstNodeDescriptionProvider } from 'langium';
import {
    isDownstreamPort, isEndpoint, isMachineMdev, isMdevStatement, isPciBridge, isPciSwitch, isPlatformDevice, isRootPort,
    isVirtualFunction,
    type Endpoint, type IommuUnit, type Machine, type MachineDevice, type MachineMdev, type MdevStatement,
    type VirtualFunction,
} from '../generated/ast.js';

/** What a machine declares, as scope descriptions. */
export interface MachineNames {
    /** PCI functions with a name and platform devices. */
    readonly hardware: readonly AstNodeDescription[];
    /** Mediated devices that exist at boot. */
    readonly mdevs: readonly AstNodeDescription[];
    /** IOMMU units. */
    readonly units: readonly AstNodeDescription[];
    /** Endpoints that can have virtual functions, by name. */
    readonly physfns: ReadonlyMap<string, Endpoint>;
}

/** VFs beyond this many per endpoint are resolved by name but not listed (completion). */
const LISTED_VFS = 64;

/** Whether a node is a device a machine declares. */
export function isMachineDevice(node: AstNode): node is MachineDevice {
    return isEndpoint(node) || isRootPort(node) || isPciSwitch(node) || isDownstreamPort(node) || isPciBridge(node)
        || isPlatformDevice(node);
}

/**
 * Whether a node is a device a scenario may name: a machine's device or mdev, a VF, or an mdev
 * the scenario creates (not a parameter standing for one).
 */
export function isDeviceNode(node: AstNode | undefined): node is MachineDevice | MachineMdev | MdevStatement | VirtualFunction {
    return node !== undefined && (isMachineDevice(node) || isMachineMdev(node) || isMdevStatement(node) || isVirtualFunction(node));
}

/** The devices and units of machines, cached per machine node (they depend on nothing else). */
export class MachineDevices {
    protected readonly descriptions: AstNodeDescriptionProvider;
    protected readonly names = new WeakMap<Machine, MachineNames>();
    protected readonly virtualFunctions = new WeakMap<Endpoint, Map<number, VirtualFunction>>();

    constructor(services: LangiumCoreServices) {
        this.descriptions = services.workspace.AstNodeDescriptionProvider;
    }

    /** The names `machine` declares. */
    of(machine: Machine): MachineNames {
        let names = this.names.get(machine);
        if (!names) {
            names = this.collect(machine);
            this.names.set(machine, names);
        }
        return names;
    }

    /** Every named device node of the machine, in source order (not VFs). */
    devicesOf(machine: Machine): MachineDevice[] {
        return AstUtils.streamAst(machine).filter(isMachineDevice).filter(d => d.name !== undefined).toArray();
    }

    /** The IOMMU units of the machine. */
    unitsOf(machine: Machine): readonly IommuUnit[] {
        return machine.iommus;
    }

    /**
     * The virtual function `pf.vfN` as a node contained by its physical function, or undefined
     * when `name` is no VF of this machine (the endpoint has no `sriov`, or N is too large).
     */
    virtualFunction(machine: Machine, name: string): VirtualFunction | undefined {
        const match = /^(.+)\.vf(\d+)$/.exec(name);
        if (!match) {
            return undefined;
        }
        const pf = this.of(machine).physfns.get(match[1]!);
        const index = Number(match[2]);
        if (!pf || pf.sriov === undefined || BigInt(index) >= pf.sriov || String(index) !== match[2]) {
            return undefined;
        }
        return this.virtualFunctionOf(pf, index);
    }

    /** The first VFs of every SR-IOV endpoint, for listing. */
    listedVirtualFunctions(machine: Machine): VirtualFunction[] {
        const vfs: VirtualFunction[] = [];
        for (const pf of this.of(machine).physfns.values()) {
            const count = Math.min(Number(pf.sriov ?? 0n), LISTED_VFS);
            for (let i = 0; i < count; i++) {
                vfs.push(this.virtualFunctionOf(pf, i));
            }
        }
        return vfs;
    }

    /** A description of a VF for scopes: it points at the VF node (it has no text of its own). */
    describeVirtualFunction(vf: VirtualFunction): AstNodeDescription {
        const pf = vf.$container as Endpoint;
        const document = AstUtils.getDocument(pf);
        const pfDescription = this.descriptions.createDescription(pf, pf.name!, document);
        return {
            node: vf,
            name: vf.name,
            type: vf.$type,
            documentUri: document.uri,
            path: `${pfDescription.path}/@vf${vf.index}`,
            nameSegment: pfDescription.nameSegment,
            selectionSegment: pfDescription.selectionSegment,
        };
    }

    protected virtualFunctionOf(pf: Endpoint, index: number): VirtualFunction {
        let vfs = this.virtualFunctions.get(pf);
        if (!vfs) {
            vfs = new Map();
            this.virtualFunctions.set(pf, vfs);
        }
        let vf = vfs.get(index);
        if (!vf) {
            vf = createVirtualFunction(pf, index);
            vfs.set(index, vf);
        }
        return vf;
    }

    protected collect(machine: Machine): MachineNames {
        const document = AstUtils.getDocument(machine);
        const describe = (node: MachineDevice | MachineMdev | IommuUnit): AstNodeDescription[] =>
            node.name === undefined ? [] : [this.descriptions.createDescription(node, node.name, document)];
        const devices = this.devicesOf(machine);
        const physfns = new Map<string, Endpoint>();
        for (const device of devices) {
            if (isEndpoint(device) && device.sriov !== undefined && device.name !== undefined) {
                physfns.set(device.name, device);
            }
        }
        return {
            hardware: devices.flatMap(describe),
            mdevs: machine.mdevs.flatMap(describe),
            units: machine.iommus.flatMap(describe),
            physfns,
        };
    }
}

/** A VF node: not in the text, contained by its physical function so that it has a document. */
function createVirtualFunction(pf: Endpoint, index: number): VirtualFunction {
    const vf: VirtualFunction & { $container: AstNode } = {
        $type: 'VirtualFunction',
        $container: pf,
        name: `${pf.name}.vf${index}`,
        index,
    };
    return vf;
}
