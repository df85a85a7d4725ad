/**
 * What a document contributes to scopes. Machines and scenarios are exported to the workspace
 * index (a scenario may run `on` a machine of another file). Nothing is precomputed locally:
 * {@link IommuScopeProvider} derives every local scope from the AST when asked, because what is
 * visible depends on source order and on processes, not on nesting alone.
 */

import { DefaultScopeComputation, MultiMap, type AstNode, type AstNodeDescription, type LangiumDocument, type LocalSymbols } from 'langium';
import { isMachine, isScenario } from '../generated/ast.js';

/** Exports machines and scenarios; no precomputed local symbols. */
export class IommuScopeComputation extends DefaultScopeComputation {
    protected override addExportedSymbol(node: AstNode, exports: AstNodeDescription[], document: LangiumDocument): void {
        if (isMachine(node) || isScenario(node)) {
            super.addExportedSymbol(node, exports, document);
        }
    }

    override async collectLocalSymbols(): Promise<LocalSymbols> {
        return new MultiMap<AstNode, AstNodeDescription>();
    }
}
