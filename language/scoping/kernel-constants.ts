/**
 * Kernel constants as scope elements. A name in an ioctl argument may be a constant, written in
 * full (`VFIO_TYPE1v2_IOMMU`) anywhere, or short (`READ`) in a field whose constant set has that
 * prefix. They link to `KernelConstant` nodes made from the uAPI table (one per constant and
 * document, contained by the document's root so that generic services find a document).
 */

import { AstUtils, EMPTY_STREAM, stream, type AstNode, type AstNodeDescription, type Scope, type Stream } from 'langium';
import {
    constantSetFor, findConstant, findIoctl, resolveConstant, shortName, type ConstantDef,
} from '../../engine/uapi/index.js';
import type { KernelConstant } from '../generated/ast.js';
import type { UapiContext } from '../uapi/uapi-context.js';

/** Creates and caches the `KernelConstant` nodes of each document. */
export class KernelConstants {
    protected readonly nodes = new WeakMap<AstNode, Map<string, KernelConstant>>();

    /** The constant `name` means in `context` (undefined: full names only). */
    resolve(name: string, context: UapiContext | undefined): ConstantDef | undefined {
        return context ? resolveConstant(name, context) : findConstant(name);
    }

    /** The names valid in a context: each constant of the field's set, short and full. */
    namesFor(context: UapiContext | undefined): Array<{ name: string; constant: ConstantDef }> {
        const ioctl = context && findIoctl(context.ioctl);
        const set = ioctl && constantSetFor(ioctl, context.field);
        if (!set) {
            return [];
        }
        const names: Array<{ name: string; constant: ConstantDef }> = [];
        for (const constant of set.constants) {
            const short = shortName(constant, set);
            if (short !== undefined) {
                names.push({ name: short, constant });
            }
            names.push({ name: constant.name, constant });
        }
        return names;
    }

    /** A scope of the constants valid at `node` in `context`. */
    scope(node: AstNode, context: UapiContext | undefined): Scope {
        return new KernelConstantScope(this, AstUtils.findRootNode(node), context);
    }

    /** The node standing for `constant` in the document of `root`. */
    nodeFor(root: AstNode, constant: ConstantDef): KernelConstant {
        let nodes = this.nodes.get(root);
        if (!nodes) {
            nodes = new Map();
            this.nodes.set(root, nodes);
        }
        let node = nodes.get(constant.name);
        if (!node) {
            const created: KernelConstant & { $container: AstNode } = {
                $type: 'KernelConstant',
                $container: root,
                name: constant.name,
                value: constant.value,
                doc: constant.doc,
            };
            node = created;
            nodes.set(constant.name, node);
        }
        return node;
    }

    /** A scope description of `constant` under the name it was written with. */
    describe(root: AstNode, written: string, constant: ConstantDef): AstNodeDescription {
        return {
            node: this.nodeFor(root, constant),
            name: written,
            type: 'KernelConstant',
            documentUri: AstUtils.getDocument(root).uri,
            path: `/@uapi/${constant.name}`,
        };
    }
}

/** Resolves any constant name on demand; lists those of the context. */
class KernelConstantScope implements Scope {
    constructor(
        protected readonly constants: KernelConstants,
        protected readonly root: AstNode,
        protected readonly context: UapiContext | undefined,
    ) { }

    getElement(name: string): AstNodeDescription | undefined {
        const constant = this.constants.resolve(name, this.context);
        return constant ? this.constants.describe(this.root, name, constant) : undefined;
    }

    getElements(name: string): Stream<AstNodeDescription> {
        const element = this.getElement(name);
        return element ? stream([element]) : EMPTY_STREAM;
    }

    getAllElements(): Stream<AstNodeDescription> {
        return stream(this.constants.namesFor(this.context))
            .map(({ name, constant }) => this.constants.describe(this.root, name, constant));
    }
}
