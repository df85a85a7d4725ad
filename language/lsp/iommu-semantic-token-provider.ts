/**
 * Semantic tokens, with standard LSP token types so every theme colours them:
 *
 * | what | token type (modifiers) |
 * | --- | --- |
 * | devices (machine declarations, uses in scenarios, mdevs, VFs) | `class` (`declaration` where declared) |
 * | variables (`let`, loop variables, `send ... as`) / parameters | `variable` / `parameter` |
 * | ioctl names | `function` (`defaultLibrary`) |
 * | procedures | `function` |
 * | kernel constants, capabilities | `enumMember` (`readonly`, `defaultLibrary`) |
 * | errno names | `macro` |
 * | numbers, kernel versions, PCI addresses (BDFs) and IDs | `number` |
 * | struct and out-value field names | `property` |
 * | machines and scenarios | `namespace` |
 * | IOMMU units | `interface` |
 * | processes | `type` |
 * | driver names, paths, strings | `string` |
 * | IOMMU kinds, features, modes, ACS flags, reset methods, mdev kinds | `enumMember` |
 * | keywords (not those used as names) | `keyword` |
 */

import { AstUtils, CstUtils, GrammarAST, GrammarUtils, isLeafCstNode, isReference, type AstNode, type LeafCstNode } from 'langium';
import { AbstractSemanticTokenProvider, type SemanticTokenAcceptor } from 'langium/lsp';
import { SemanticTokenModifiers, SemanticTokenTypes } from 'vscode-languageserver';
import {
    isAcs, isBindStatement, isCallStatement, isCapsStatement, isDownstreamPort, isEndpoint, isExpectField, isExpectation,
    isFieldValue, isForStatement, isForkStatement, isGuestMapStatement, isIoctlArg, isIoctlStatement, isIommuUnit, isKernelConstant,
    isLiteralPath, isMachine, isMachineMdev, isMdevStatement, isNameRef, isNumberLiteral, isParameter, isPciBridge,
    isPciSegment, isPciSwitch, isPlatformDevice, isProcedure, isProcessBlock, isRootPort, isScenario, isSendStatement,
    isStringLiteral,
} from '../generated/ast.js';
import { isDeviceNode } from '../scoping/machine-devices.js';
import { ownBinding } from '../scoping/bindings.js';

const DECLARATION = SemanticTokenModifiers.declaration;
const LIBRARY = SemanticTokenModifiers.defaultLibrary;
const READONLY = SemanticTokenModifiers.readonly;

/** Assignments whose keywords are keywords (the others are names: `id`, `pasid`, `pci-stub`...). */
const KEYWORD_FEATURES = new Set(['outcome', 'dir', 'op']);

/** Semantic highlighting of `.iommu` files. */
export class IommuSemanticTokenProvider extends AbstractSemanticTokenProvider {
    protected highlightElement(node: AstNode, accept: SemanticTokenAcceptor): void | undefined | 'prune' {
        this.highlightKeywords(node, accept);
        if (isMachine(node) || isScenario(node)) {
            accept({ node, property: 'name', type: SemanticTokenTypes.namespace, modifier: DECLARATION });
            if (isMachine(node)) {
                this.numbers(node, ['kernel'], accept);
                this.strings(node, ['cmdline'], accept);
            } else {
                accept({ node, property: 'machine', type: SemanticTokenTypes.namespace });
            }
        } else if (isIommuUnit(node)) {
            accept({ node, property: 'name', type: SemanticTokenTypes.interface, modifier: DECLARATION });
            this.words(node, ['kind', 'mode'], accept);
            node.features.forEach((_, index) => accept({ node, property: 'features', index, type: SemanticTokenTypes.enumMember }));
            this.numbers(node, ['addressWidth', 'pasidWidth'], accept);
            node.pageSizes.forEach((_, index) => accept({ node, property: 'pageSizes', index, type: SemanticTokenTypes.number }));
        } else if (isPciSegment(node)) {
            this.numbers(node, ['segment'], accept);
            accept({ node, property: 'iommu', type: SemanticTokenTypes.interface });
        } else if (isEndpoint(node) || isRootPort(node) || isPciSwitch(node) || isDownstreamPort(node) || isPciBridge(node)) {
            this.pciFunction(node, accept);
        } else if (isPlatformDevice(node)) {
            accept({ node, property: 'name', type: SemanticTokenTypes.class, modifier: DECLARATION });
            accept({ node, property: 'iommu', type: SemanticTokenTypes.interface });
            this.strings(node, ['driver'], accept);
            this.numbers(node, ['pasidWidth'], accept);
        } else if (isMachineMdev(node) || isMdevStatement(node)) {
            accept({ node, property: 'name', type: SemanticTokenTypes.class, modifier: DECLARATION });
            accept({ node, property: 'parent', type: this.deviceType(node.parent.ref) });
            this.words(node, ['kind'], accept);
        } else if (isAcs(node)) {
            node.flags.forEach((_, index) => accept({ node, property: 'flags', index, type: SemanticTokenTypes.enumMember }));
        } else if (isProcessBlock(node) || isCapsStatement(node)) {
            if (isProcessBlock(node)) {
                accept({ node, property: 'name', type: SemanticTokenTypes.type, modifier: DECLARATION });
                this.numbers(node, ['uid'], accept);
            }
            node.caps.forEach((_, index) => accept({ node, property: 'caps', index, type: SemanticTokenTypes.enumMember, modifier: [READONLY, LIBRARY] }));
        } else if (isProcedure(node)) {
            accept({ node, property: 'name', type: SemanticTokenTypes.function, modifier: DECLARATION });
        } else if (isParameter(node)) {
            accept({ node, property: 'name', type: SemanticTokenTypes.parameter, modifier: DECLARATION });
        } else {
            this.scenarioElement(node, accept);
        }
        return undefined;
    }

    /** Statements, arguments, expectations and values. */
    protected scenarioElement(node: AstNode, accept: SemanticTokenAcceptor): void {
        if (ownBinding(node)) {
            accept({ node, property: 'name' as never, type: SemanticTokenTypes.variable, modifier: DECLARATION });
        }
        if (isIoctlStatement(node)) {
            accept({ node, property: 'ioctl', type: SemanticTokenTypes.function, modifier: LIBRARY });
        } else if (isIoctlArg(node) || isFieldValue(node) || isExpectField(node)) {
            accept({ node, property: 'field', type: SemanticTokenTypes.property });
        } else if (isExpectation(node)) {
            accept({ node, property: 'errno', type: SemanticTokenTypes.macro });
        } else if (isNameRef(node)) {
            const target = node.ref.ref;
            const type = isKernelConstant(target) ? SemanticTokenTypes.enumMember : isDeviceNode(target) ? SemanticTokenTypes.class
                : isParameter(target) ? SemanticTokenTypes.parameter : target ? SemanticTokenTypes.variable : undefined;
            if (type) {
                accept({ node, property: 'ref', type, modifier: isKernelConstant(target) ? [READONLY, LIBRARY] : undefined });
            }
        } else if (isNumberLiteral(node)) {
            accept({ node, property: 'value', type: SemanticTokenTypes.number });
        } else if (isStringLiteral(node) || isLiteralPath(node)) {
            accept({ node, property: isLiteralPath(node) ? 'path' : 'value', type: SemanticTokenTypes.string } as never);
        } else if (isForStatement(node)) {
            accept({ node, property: 'name', type: SemanticTokenTypes.variable, modifier: DECLARATION });
        } else if (isForkStatement(node)) {
            accept({ node, property: 'name', type: SemanticTokenTypes.type, modifier: DECLARATION });
        } else if (isSendStatement(node)) {
            accept({ node, property: 'receiver', type: SemanticTokenTypes.type });
            accept({ node, property: 'name', type: SemanticTokenTypes.variable, modifier: DECLARATION });
        } else if (isCallStatement(node)) {
            accept({ node, property: 'procedure', type: SemanticTokenTypes.function });
        } else if (isGuestMapStatement(node)) {
            node.permissions.forEach((_, index) => accept({ node, property: 'permissions', index, type: SemanticTokenTypes.keyword }));
        }
        const device = (node as { device?: unknown }).device;
        if (isReference(device)) {
            accept({ node, property: 'device' as never, type: this.deviceType(device.ref) });
        }
        if (isBindStatement(node)) {
            accept({ node, property: 'driver', type: SemanticTokenTypes.string });
        }
    }

    /** A PCI function: address, name, ID, driver, class, aliases, resets. */
    protected pciFunction(node: AstNode & { bdf: string; name?: string }, accept: SemanticTokenAcceptor): void {
        accept({ node, property: 'bdf' as never, type: SemanticTokenTypes.number });
        if (node.name !== undefined) {
            accept({ node, property: 'name' as never, type: SemanticTokenTypes.class, modifier: DECLARATION });
        }
        this.numbers(node, ['pciId', 'pasidWidth', 'sriov'], accept);
        this.strings(node, ['driver'], accept);
        if (isEndpoint(node)) {
            this.words(node, ['className'], accept);
            node.dmaAliases.forEach((_, index) => accept({ node, property: 'dmaAliases', index, type: SemanticTokenTypes.number }));
            node.resets.forEach((_, index) => accept({ node, property: 'resets', index, type: SemanticTokenTypes.enumMember }));
        }
    }

    /** Keywords written for this node, except keywords used as names (`id`, `pasid`, `pci` of `pci-stub`). */
    protected highlightKeywords(node: AstNode, accept: SemanticTokenAcceptor): void {
        for (const child of this.ownLeaves(node)) {
            if (!GrammarAST.isKeyword(child.grammarSource) || !/[a-z]/i.test(child.text)) {
                continue;
            }
            const assignment = GrammarUtils.findAssignment(child);
            if (!assignment || assignment.operator === '?=' || KEYWORD_FEATURES.has(assignment.feature)) {
                if (!this.inDatatypeRule(child.grammarSource)) {
                    accept({ cst: child, type: SemanticTokenTypes.keyword });
                }
            }
        }
    }

    /** The leaf tokens that belong to `node` itself (not to its child nodes). */
    protected *ownLeaves(node: AstNode): Generator<LeafCstNode> {
        const root = node.$cstNode;
        if (!root) {
            return;
        }
        const iterator = CstUtils.streamCst(root).iterator();
        for (let next = iterator.next(); !next.done; next = iterator.next()) {
            const cst = next.value;
            if (cst !== root && cst.astNode !== node) {
                iterator.prune();
            } else if (isLeafCstNode(cst)) {
                yield cst;
            }
        }
    }

    /** Whether a keyword is part of a name rule (`DriverName`, `FeatureName`, `Name`...). */
    protected inDatatypeRule(keyword: AstNode): boolean {
        const rule = AstUtils.getContainerOfType(keyword, GrammarAST.isParserRule);
        return rule !== undefined && GrammarUtils.isDataTypeRule(rule);
    }

    protected deviceType(target: AstNode | undefined): string {
        return isParameter(target) ? SemanticTokenTypes.parameter : SemanticTokenTypes.class;
    }

    protected numbers(node: AstNode, properties: readonly string[], accept: SemanticTokenAcceptor): void {
        for (const property of properties) {
            accept({ node, property: property as never, type: SemanticTokenTypes.number });
        }
    }

    protected strings(node: AstNode, properties: readonly string[], accept: SemanticTokenAcceptor): void {
        for (const property of properties) {
            accept({ node, property: property as never, type: SemanticTokenTypes.string });
        }
    }

    protected words(node: AstNode, properties: readonly string[], accept: SemanticTokenAcceptor): void {
        for (const property of properties) {
            accept({ node, property: property as never, type: SemanticTokenTypes.enumMember });
        }
    }
}
