/**
 * Checks of machine blocks that the grammar leaves to names: IOMMU kinds, features and modes,
 * ACS flags, reset methods, PCI addresses (well formed, in their segment, unique), device names
 * (unique in the machine), attributes given twice.
 */

import { AstUtils, GrammarUtils, type AstNode, type ValidationAcceptor } from 'langium';
import { ACS_FLAGS, IOMMU_FEATURES, parseBdf, type Bdf } from '../../engine/machine/spec.js';
import { didYouMean } from '../closest-names.js';
import {
    isEndpoint, isMachineMdev,
    type Acs, type DownstreamPort, type Endpoint, type IommuUnit, type Machine, type PciBridge, type PciNode, type PciSegment,
    type PciSwitch, type PlatformDevice, type RootPort,
} from '../generated/ast.js';
import { parseKernelVersion, segmentNumber } from '../lowering/lower-machine.js';
import { IOMMU_KINDS, IOMMU_MODES, RESET_METHODS, isAcsFlag, isIommuFeature, isIommuKind, isResetMethod } from '../lowering/machine-vocabulary.js';
import { staticValue } from '../lowering/static-value.js';
import { isMachineDevice } from '../scoping/machine-devices.js';
import { IommuCodes } from './diagnostic-codes.js';

/** Keywords that may be given once per block. */
const SINGLE_MACHINE_SETTINGS = ['kernel', 'memory', 'page-size', 'cmdline'];
const SINGLE_UNIT_SETTINGS = ['address-width', 'page-sizes', 'pasid-width', 'features', 'mode'];
const SINGLE_FUNCTION_SETTINGS = ['id', 'class', 'driver', 'acs', 'conventional', 'pasid-width', 'ats', 'pri', 'sriov', 'no-snoop', 'reset', 'require-direct'];
const SINGLE_PORT_SETTINGS = ['id', 'driver', 'acs', 'conventional'];
const SINGLE_PLATFORM_SETTINGS = ['driver', 'pasid-width', 'no-snoop'];

/** Validates machines. */
export class MachineValidator {

    checkMachine(machine: Machine, accept: ValidationAcceptor): void {
        this.checkOnce(machine, SINGLE_MACHINE_SETTINGS, accept);
        if (machine.kernel !== undefined && !parseKernelVersion(machine.kernel)) {
            accept('error', `'${machine.kernel}' is no kernel version (write e.g. 6.12)`, {
                node: machine, property: 'kernel', code: IommuCodes.InvalidKernelVersion, data: { code: IommuCodes.InvalidKernelVersion },
            });
        }
        for (const property of ['memory', 'pageSize'] as const) {
            if (machine[property] !== undefined && staticValue(machine[property]) === undefined) {
                accept('error', `${property === 'memory' ? 'memory' : 'page-size'} must be a constant size`, {
                    node: machine, property, code: IommuCodes.InvalidNumber, data: { code: IommuCodes.InvalidNumber },
                });
            }
        }
        const seen = new Map<string, AstNode>();
        const named = [
            ...machine.iommus,
            ...AstUtils.streamAst(machine).filter(n => isMachineDevice(n) || isMachineMdev(n)).toArray(),
        ] as Array<AstNode & { name?: string }>;
        for (const node of named) {
            if (node.name === undefined) {
                continue;
            }
            const first = seen.get(node.name);
            if (first) {
                accept('error', `'${node.name}' is already declared in machine '${machine.name}' (line ${line(first)})`, {
                    node, property: 'name', code: IommuCodes.DuplicateName, data: { code: IommuCodes.DuplicateName },
                });
            } else {
                seen.set(node.name, node);
            }
        }
        this.checkUniqueAddresses(machine, accept);
    }

    checkIommuUnit(unit: IommuUnit, accept: ValidationAcceptor): void {
        this.checkOnce(unit, SINGLE_UNIT_SETTINGS, accept);
        if (!isIommuKind(unit.kind)) {
            accept('error', `unknown IOMMU kind '${unit.kind}'${didYouMean(unit.kind, IOMMU_KINDS)} (kinds: ${IOMMU_KINDS.join(', ')})`, {
                node: unit, property: 'kind', code: IommuCodes.UnknownIommuKind, data: { code: IommuCodes.UnknownIommuKind },
            });
        }
        unit.features.forEach((feature, index) => {
            if (!isIommuFeature(feature)) {
                accept('error', `unknown IOMMU feature '${feature}'${didYouMean(feature, IOMMU_FEATURES)}`, {
                    node: unit, property: 'features', index, code: IommuCodes.UnknownFeature, data: { code: IommuCodes.UnknownFeature },
                });
            }
        });
        if (unit.mode !== undefined && !IOMMU_MODES.includes(unit.mode)) {
            accept('error', `unknown mode '${unit.mode}'${didYouMean(unit.mode, IOMMU_MODES)} (modes: scalable, legacy)`, {
                node: unit, property: 'mode', code: IommuCodes.UnknownMode, data: { code: IommuCodes.UnknownMode },
            });
        }
    }

    checkAcs(acs: Acs, accept: ValidationAcceptor): void {
        acs.flags.forEach((flag, index) => {
            if (!isAcsFlag(flag)) {
                accept('error', `unknown ACS flag '${flag}'${didYouMean(flag, ACS_FLAGS)} (flags: ${ACS_FLAGS.join(' ')})`, {
                    node: acs, property: 'flags', index, code: IommuCodes.UnknownAcsFlag, data: { code: IommuCodes.UnknownAcsFlag },
                });
            }
        });
    }

    checkEndpoint(endpoint: Endpoint, accept: ValidationAcceptor): void {
        this.checkOnce(endpoint, SINGLE_FUNCTION_SETTINGS, accept);
        endpoint.resets.forEach((method, index) => {
            if (!isResetMethod(method)) {
                accept('error', `unknown reset method '${method}'${didYouMean(method, RESET_METHODS)} (methods: ${RESET_METHODS.join(' ')})`, {
                    node: endpoint, property: 'resets', index, code: IommuCodes.UnknownResetMethod, data: { code: IommuCodes.UnknownResetMethod },
                });
            }
        });
    }

    /** Ports and bridges: attributes before their `{` given once. */
    checkPort(port: RootPort | PciSwitch | DownstreamPort | PciBridge, accept: ValidationAcceptor): void {
        this.checkOnce(port, SINGLE_PORT_SETTINGS, accept);
    }

    checkPlatformDevice(device: PlatformDevice, accept: ValidationAcceptor): void {
        this.checkOnce(device, SINGLE_PLATFORM_SETTINGS, accept);
    }

    checkPciSegment(segment: PciSegment, accept: ValidationAcceptor): void {
        const number = segmentNumber(segment);
        if (number === undefined || number > 0xffff) {
            accept('error', 'a PCI segment is a hex number from 0000 to ffff', {
                node: segment, property: 'segment', code: IommuCodes.InvalidBdf, data: { code: IommuCodes.InvalidBdf },
            });
        }
    }

    /** Every PCI address of the machine: well formed, in its block's segment, used once. */
    protected checkUniqueAddresses(machine: Machine, accept: ValidationAcceptor): void {
        const used = new Map<string, AstNode>();
        for (const segment of machine.segments) {
            const number = segmentNumber(segment) ?? 0;
            const visit = (node: PciNode | DownstreamPort): void => {
                const bdf = this.checkAddress(node, node.bdf, number, 'bdf', accept);
                if (bdf) {
                    const key = `${bdf.segment}:${bdf.bus}:${bdf.device}.${bdf.fn}`;
                    const first = used.get(key);
                    if (first) {
                        accept('error', `${node.bdf} is already used by ${describe(first)} (line ${line(first)})`, {
                            node, property: 'bdf', code: IommuCodes.DuplicateBdf, data: { code: IommuCodes.DuplicateBdf },
                        });
                    } else {
                        used.set(key, node);
                    }
                }
                if (isEndpoint(node)) {
                    node.dmaAliases.forEach((alias, index) => this.checkAddress(node, alias, number, 'dmaAliases', accept, index));
                }
                const children: ReadonlyArray<PciNode | DownstreamPort> =
                    'children' in node ? node.children : 'ports' in node ? node.ports : [];
                children.forEach(visit);
            };
            segment.children.forEach(visit);
        }
    }

    protected checkAddress(node: AstNode, text: string, segment: number, property: string, accept: ValidationAcceptor, index?: number): Bdf | undefined {
        const bdf = parseBdf(text, segment);
        const fail = (message: string): undefined => {
            accept('error', message, { node, property, index, code: IommuCodes.InvalidBdf, data: { code: IommuCodes.InvalidBdf } });
            return undefined;
        };
        if (!bdf) {
            return fail(`'${text}' is no PCI address (write bus:device.function, e.g. 02:00.0)`);
        }
        if (bdf.segment !== segment) {
            return fail(`${text} is not in segment ${segment.toString(16).padStart(4, '0')} of its pci block`);
        }
        if (bdf.device > 0x1f) {
            return fail(`${text}: a PCI device number is at most 1f`);
        }
        return bdf;
    }

    /** Warns about a single-valued attribute given twice (the last one counts). */
    protected checkOnce(node: AstNode, keywords: readonly string[], accept: ValidationAcceptor): void {
        for (const keyword of keywords) {
            const found = GrammarUtils.findNodesForKeyword(node.$cstNode, keyword);
            if (found.length > 1) {
                accept('warning', `'${keyword}' is given ${found.length} times; the last one counts`, {
                    node, keyword, index: found.length - 1, code: IommuCodes.DuplicateAttribute, data: { code: IommuCodes.DuplicateAttribute },
                });
            }
        }
    }
}

function line(node: AstNode): number {
    return (node.$cstNode?.range.start.line ?? 0) + 1;
}

function describe(node: AstNode): string {
    const name = (node as { name?: string }).name;
    return name === undefined ? `another ${node.$type}` : `'${name}'`;
}
