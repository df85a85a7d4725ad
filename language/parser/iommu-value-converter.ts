import { DefaultValueConverter, type CstNode, type GrammarAST, type ValueType } from 'langium';
import { parseNumberLiteral } from './number-literal.js';

/** Converts `NUMBER` tokens (`4K`, `0x4000_0000`) to `bigint`; everything else as Langium does. */
export class IommuValueConverter extends DefaultValueConverter {
    protected override runConverter(rule: GrammarAST.AbstractRule, input: string, cstNode: CstNode): ValueType {
        if (rule.name === 'NUMBER') {
            // The terminal's pattern only admits valid literals, so this never falls back.
            return parseNumberLiteral(input) ?? 0n;
        }
        return super.runConverter(rule, input, cstNode);
    }
}
