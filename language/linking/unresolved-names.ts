/**
 * Messages for names that do not resolve: what kind of name it should have been, the closest
 * known names, and why a binding of that name is not visible here (bound later, or in another
 * process).
 */

import type { AstNodeDescription, IndexManager, ReferenceInfo, ScopeProvider } from 'langium';
import { allConstantSets, findIoctl, type ConstantSet } from '../../engine/uapi/index.js';
import { didYouMean } from '../closest-names.js';
import {
    isCallStatement, isEndpoint, isIoctlArg, isMachineMdev, isNameRef, isPciSegment, isPlatformDevice, isScenario,
    isSendStatement, Machine, type NameRef,
} from '../generated/ast.js';
import type { IommuServices } from '../iommu-module.js';
import { offsetOf } from '../scoping/ast-positions.js';
import type { KernelConstants } from '../scoping/kernel-constants.js';
import type { MachineDevices } from '../scoping/machine-devices.js';
import { scenarioOf, type VisibleBindings } from '../scoping/visible-bindings.js';
import { takesDeviceName, uapiContextOf, type UapiContext } from '../uapi/uapi-context.js';
import { IommuCodes, type IommuCode } from '../validation/diagnostic-codes.js';

/** An unresolved name explained. */
export interface UnresolvedName {
    readonly code: IommuCode;
    readonly message: string;
}

/** At most this many valid constants are listed in a message. */
const LISTED_CONSTANTS = 16;

/** Explains unresolved references. */
export class UnresolvedNames {
    protected readonly services: IommuServices;

    constructor(services: IommuServices) {
        this.services = services;
    }

    protected get scopeProvider(): ScopeProvider {
        return this.services.references.ScopeProvider;
    }

    protected get bindings(): VisibleBindings {
        return this.services.references.VisibleBindings;
    }

    protected get constants(): KernelConstants {
        return this.services.references.KernelConstants;
    }

    protected get machineDevices(): MachineDevices {
        return this.services.references.MachineDevices;
    }

    protected get indexManager(): IndexManager {
        return this.services.shared.workspace.IndexManager;
    }

    /** The code and message for a reference that did not resolve. */
    describe(info: ReferenceInfo): UnresolvedName {
        const name = info.reference.$refText;
        const container = info.container;
        if (isNameRef(container)) {
            return this.describeName(container, info);
        }
        if (isScenario(container)) {
            const machines = this.indexManager.allElements(Machine.$type).map(d => d.name);
            return { code: IommuCodes.UnknownMachine, message: `unknown machine '${name}'${didYouMean(name, machines)}` };
        }
        if (isPciSegment(container) || isPlatformDevice(container)) {
            return { code: IommuCodes.UnknownIommu, message: `unknown IOMMU unit '${name}'${this.suggest(info)}` };
        }
        if (isCallStatement(container)) {
            return { code: IommuCodes.UnknownProcedure, message: `unknown procedure '${name}'${this.suggest(info)}` };
        }
        if (isSendStatement(container)) {
            return { code: IommuCodes.UnknownProcess, message: `unknown process '${name}'${this.suggest(info)}` };
        }
        if (isMachineMdev(container)) {
            return { code: IommuCodes.UnknownDevice, message: `unknown device '${name}'${this.suggest(info)}` };
        }
        return this.describeDevice(info);
    }

    protected describeName(ref: NameRef, info: ReferenceInfo): UnresolvedName {
        const name = info.reference.$refText;
        const arg = ref.$container;
        if (isIoctlArg(arg) && arg.field === undefined && takesDeviceName(findIoctl(arg.$container.ioctl), undefined)) {
            return this.describeDevice(info);
        }
        const context = uapiContextOf(ref);
        if (looksLikeConstant(name)) {
            return this.describeConstant(name, context);
        }
        return this.describeVariable(ref, name);
    }

    protected describeDevice(info: ReferenceInfo): UnresolvedName {
        const name = info.reference.$refText;
        const vf = /^(.+)\.vf(\d+)$/.exec(name);
        const machine = scenarioOf(info.container)?.machine.ref;
        if (vf && machine) {
            const pf = this.machineDevices.devicesOf(machine).find(d => d.name === vf[1]);
            if (isEndpoint(pf)) {
                const why = pf.sriov === undefined
                    ? `${pf.name} has no \`sriov\`, so no virtual functions`
                    : `${pf.name} has ${pf.sriov} virtual function${pf.sriov === 1n ? '' : 's'}, ${pf.name}.vf0 to ${pf.name}.vf${pf.sriov - 1n}`;
                return { code: IommuCodes.UnknownDevice, message: `unknown device '${name}': ${why}` };
            }
        }
        return { code: IommuCodes.UnknownDevice, message: `unknown device '${name}'${this.suggest(info, isDeviceDescription)}` };
    }

    protected describeConstant(name: string, context: UapiContext | undefined): UnresolvedName {
        const names = this.constants.namesFor(context);
        if (context && names.length > 0) {
            const shortNames = unique(names.filter(n => n.name !== n.constant.name).map(n => n.name));
            const listed = shortNames.length > 0 ? shortNames : unique(names.map(n => n.name));
            const list = listed.slice(0, LISTED_CONSTANTS).join(', ') + (listed.length > LISTED_CONSTANTS ? ', ...' : '');
            const where = `${context.field ?? 'the argument'} of ${context.ioctl}`;
            return {
                code: IommuCodes.UnknownConstant,
                message: `unknown constant '${name}' in ${where}${didYouMean(name, names.map(n => n.name))} (valid: ${list})`,
            };
        }
        const all = allConstantSets().flatMap((set: ConstantSet) => set.constants.map(c => c.name));
        const where = context && findIoctl(context.ioctl)
            ? ` (${context.field ?? 'the argument'} of ${context.ioctl} takes no named constants)`
            : '';
        return { code: IommuCodes.UnknownConstant, message: `unknown constant '${name}'${didYouMean(name, all)}${where}` };
    }

    protected describeVariable(ref: NameRef, name: string): UnresolvedName {
        const visible = this.bindings.at(ref).map(b => b.name).filter((n): n is string => n !== undefined);
        const scenario = scenarioOf(ref);
        const process = this.bindings.processOf(ref);
        let why = '';
        if (scenario) {
            const sites = this.bindings.sitesNamed(scenario, name);
            const later = sites.find(s => s.process === process && process !== undefined && offsetOf(s.binding) > offsetOf(ref));
            const elsewhere = sites.find(s => s.process !== undefined && s.process !== process);
            if (later) {
                const line = (later.binding.$cstNode?.range.start.line ?? 0) + 1;
                why = `: it is bound later, on line ${line}`;
            } else if (elsewhere && process !== undefined) {
                why = `: it is bound in process '${elsewhere.process}', not in '${process}' (pass an fd with \`send\`)`;
            } else if (elsewhere) {
                why = `: it is bound in process '${elsewhere.process}'; a procedure sees only its parameters and own bindings`;
            }
        }
        const suggestion = why === '' ? didYouMean(name, visible) : '';
        return { code: IommuCodes.UnknownVariable, message: `unknown variable '${name}'${suggestion}${why}` };
    }

    /** `; did you mean ...?` over what the reference's scope offers. */
    protected suggest(info: ReferenceInfo, filter: (d: AstNodeDescription) => boolean = () => true): string {
        const candidates = this.scopeProvider.getScope(info).getAllElements().filter(filter).map(d => d.name).toArray();
        return didYouMean(info.reference.$refText, candidates);
    }
}

/** Parameters may stand for devices, but a device name is not suggested from them. */
function isDeviceDescription(description: AstNodeDescription): boolean {
    return description.type !== 'Parameter';
}

/** `READ`, `FIXED_IOVA`, `VFIO_TYPE1v2_IOMMU`: an upper-case start and no lower-case word. */
export function looksLikeConstant(name: string): boolean {
    return /^[A-Z][A-Z0-9_]*(?:[0-9][a-z][0-9][A-Z0-9_]*)*$/.test(name);
}

function unique(names: readonly string[]): string[] {
    return [...new Set(names)];
}
