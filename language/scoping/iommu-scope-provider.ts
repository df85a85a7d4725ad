/**
 * Scopes of the `.iommu` language, computed from the AST on demand:
 * - machines (`scenario X on MACHINE`): those of the same file, then those of the workspace;
 * - devices: those of the machine the scenario runs on (named PCI functions, platform devices,
 *   mdevs), its VFs `pf.vfN`, the mdevs the scenario creates, and procedure parameters;
 * - IOMMU units and mdev parents: those of the enclosing machine;
 * - names in expressions: visible bindings (see {@link VisibleBindings}), then devices, then
 *   kernel constants of the ioctl field they are used in (devices first where the kernel takes a
 *   device name, as `VFIO_GROUP_GET_DEVICE_FD` does);
 * - procedures, and processes (`send ... to P`), of the scenario.
 */

import {
    AstUtils, DefaultScopeProvider, EMPTY_SCOPE, stream, type AstNode, type AstNodeDescription,
    type AstNodeDescriptionProvider, type ReferenceInfo, type Scope, type Stream,
} from 'langium';
import { findIoctl } from '../../engine/uapi/index.js';
import {
    isCallStatement, isIoctlArg, isMachine, isMachineMdev, isMdevStatement, isNameRef, isPciSegment, isPlatformDevice,
    isProcedure, isScenario, isSendStatement, Machine, type Binding, type NameRef, type Scenario,
} from '../generated/ast.js';
import type { IommuServices } from '../iommu-module.js';
import { takesDeviceName, uapiContextOf } from '../uapi/uapi-context.js';
import type { KernelConstants } from './kernel-constants.js';
import type { MachineDevices } from './machine-devices.js';
import { processDeclarations } from './processes.js';
import { scenarioOf, type VisibleBindings } from './visible-bindings.js';

/** Computes what each cross-reference may name. */
export class IommuScopeProvider extends DefaultScopeProvider {
    protected readonly machineDevices: MachineDevices;
    protected readonly visibleBindings: VisibleBindings;
    protected readonly kernelConstants: KernelConstants;
    protected readonly mdevsByScenario = new WeakMap<Scenario, readonly AstNodeDescription[]>();

    constructor(services: IommuServices) {
        super(services);
        this.machineDevices = services.references.MachineDevices;
        this.visibleBindings = services.references.VisibleBindings;
        this.kernelConstants = services.references.KernelConstants;
    }

    override getScope(context: ReferenceInfo): Scope {
        const { container, property } = context;
        if (isNameRef(container)) {
            return this.nameScope(container);
        }
        if (isScenario(container)) {
            // A machine of the same file first (two files may each declare their own `desktop`).
            return this.createScopeForNodes(container.$container.machines, this.getGlobalScope(Machine.$type, context));
        }
        if (isCallStatement(container)) {
            return this.createScopeForNodes(scenarioOf(container)?.procedures ?? []);
        }
        if (isSendStatement(container) && property === 'receiver') {
            const scenario = scenarioOf(container);
            return scenario ? this.createScopeForNodes(processDeclarations(scenario)) : EMPTY_SCOPE;
        }
        if ((isPciSegment(container) || isPlatformDevice(container)) && property === 'iommu') {
            const machine = AstUtils.getContainerOfType(container, isMachine);
            return machine ? this.createScope(this.machineDevices.of(machine).units) : EMPTY_SCOPE;
        }
        if (isMachineMdev(container)) {
            return this.createScope(this.machineDevices.of(container.$container).hardware);
        }
        if (property === 'device' || (isMdevStatement(container) && property === 'parent')) {
            return this.deviceScope(container, true);
        }
        return super.getScope(context);
    }

    /**
     * The devices a scenario statement may name: procedure parameters (when `withParameters`),
     * then the machine's devices and mdevs and the scenario's mdevs, then the machine's VFs.
     */
    deviceScope(node: AstNode, withParameters: boolean, outer?: Scope): Scope {
        const scenario = scenarioOf(node);
        const machine = scenario?.machine.ref;
        let scope: Scope = outer ?? EMPTY_SCOPE;
        if (machine) {
            scope = new VirtualFunctionScope(this.machineDevices, machine, scope);
            const names = this.machineDevices.of(machine);
            scope = this.createScope([...names.hardware, ...names.mdevs, ...this.scenarioMdevs(scenario)], scope);
        } else if (scenario) {
            scope = this.createScope(this.scenarioMdevs(scenario), scope);
        }
        const procedure = withParameters ? AstUtils.getContainerOfType(node, isProcedure) : undefined;
        return procedure ? this.createScopeForNodes(procedure.params, scope) : scope;
    }

    /** Bindings, devices and constants, in the order the name's position prefers. */
    protected nameScope(ref: NameRef): Scope {
        const context = uapiContextOf(ref);
        const constants = this.kernelConstants.scope(ref, context);
        if (!scenarioOf(ref)) {
            return constants;
        }
        if (this.prefersDevice(ref)) {
            return this.deviceScope(ref, false, new BindingScope(this.visibleBindings, ref, this.descriptions, constants));
        }
        return new BindingScope(this.visibleBindings, ref, this.descriptions, this.deviceScope(ref, false, constants));
    }

    /** A bare name as the positional argument of an ioctl that takes a device name. */
    protected prefersDevice(ref: NameRef): boolean {
        const arg = ref.$container;
        return isIoctlArg(arg) && arg.field === undefined && takesDeviceName(findIoctl(arg.$container.ioctl), undefined);
    }

    /** The mdevs a scenario creates (`mdev NAME parent DEV KIND` statements), once per scenario. */
    protected scenarioMdevs(scenario: Scenario): readonly AstNodeDescription[] {
        let mdevs = this.mdevsByScenario.get(scenario);
        if (!mdevs) {
            mdevs = AstUtils.streamAst(scenario).filter(isMdevStatement).map(m => this.descriptions.createDescription(m, m.name)).toArray();
            this.mdevsByScenario.set(scenario, mdevs);
        }
        return mdevs;
    }
}

/** The bindings visible at a name, looked up lazily (see {@link VisibleBindings}). */
class BindingScope implements Scope {
    constructor(
        protected readonly bindings: VisibleBindings,
        protected readonly node: AstNode,
        protected readonly descriptions: AstNodeDescriptionProvider,
        protected readonly outer: Scope,
    ) { }

    getElement(name: string): AstNodeDescription | undefined {
        const binding = this.bindings.find(this.node, name);
        return binding ? this.describe(binding) : this.outer.getElement(name);
    }

    getElements(name: string): Stream<AstNodeDescription> {
        const binding = this.bindings.find(this.node, name);
        return binding ? stream([this.describe(binding)]) : this.outer.getElements(name);
    }

    getAllElements(): Stream<AstNodeDescription> {
        return stream(this.bindings.at(this.node)).map(b => this.describe(b)).concat(this.outer.getAllElements());
    }

    protected describe(binding: Binding): AstNodeDescription {
        return this.descriptions.createDescription(binding, binding.name);
    }
}

/** The VFs of a machine: resolved by name (`gpu0.vf3`), the first ones listed. */
class VirtualFunctionScope implements Scope {
    constructor(
        protected readonly devices: MachineDevices,
        protected readonly machine: Machine,
        protected readonly outer: Scope,
    ) { }

    getElement(name: string): AstNodeDescription | undefined {
        const vf = this.devices.virtualFunction(this.machine, name);
        return vf ? this.devices.describeVirtualFunction(vf) : this.outer.getElement(name);
    }

    getElements(name: string) {
        const element = this.getElement(name);
        return element ? stream([element]) : this.outer.getElements(name);
    }

    getAllElements() {
        return stream(this.devices.listedVirtualFunctions(this.machine))
            .map(vf => this.devices.describeVirtualFunction(vf))
            .concat(this.outer.getAllElements());
    }
}
