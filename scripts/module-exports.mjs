// What an ES module of tsc's output exports, and how each name is declared,
// read with the TypeScript compiler's parser. build-lib.mjs hands the library's
// exports and a chunk's shared modules over as plain objects (ADR 0035): a value
// read once, so no exported binding may be one a later assignment changes.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import ts from 'typescript';

/**
 * The names `file` exports, each with how its binding is declared where it is
 * declared (`const`, `let`, `var`, `function`, `class`, `namespace`, `default`),
 * following `export { a as b }` to the local binding, imports and
 * `export … from` to their modules. Throws on `export *`, whose names this does
 * not list.
 */
export function moduleExports(file) {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false, ts.ScriptKind.JS);
  const exports = new Map();
  const from = (specifier) => resolve(dirname(file), specifier);
  for (const statement of source.statements) {
    const exported = ts.getCombinedModifierFlags(statement) & ts.ModifierFlags.Export;
    if (ts.isExportDeclaration(statement)) {
      const target = statement.moduleSpecifier && from(statement.moduleSpecifier.text);
      if (!statement.exportClause) throw new Error(`${file}: \`export * from\` is not supported (its names are not listed)`);
      if (ts.isNamespaceExport(statement.exportClause)) {
        exports.set(statement.exportClause.name.text, { file, kind: 'namespace' });
        continue;
      }
      for (const element of statement.exportClause.elements) {
        const local = (element.propertyName ?? element.name).text;
        exports.set(element.name.text, target ? declared(target, local) : localBinding(source, file, local));
      }
    } else if (ts.isExportAssignment(statement)) {
      exports.set('default', { file, kind: 'default' });
    } else if (exported && ts.isVariableStatement(statement)) {
      for (const name of variableNames(statement)) exports.set(name, { file, kind: variableKind(statement) });
    } else if (exported && (ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement))) {
      const isDefault = ts.getCombinedModifierFlags(statement) & ts.ModifierFlags.Default;
      exports.set(isDefault ? 'default' : statement.name.text, { file, kind: ts.isFunctionDeclaration(statement) ? 'function' : 'class' });
    }
  }
  return exports;
}

/** How `name`, exported by `file`, is declared. */
function declared(file, name) {
  const found = moduleExports(file).get(name);
  if (!found) throw new Error(`${file} does not export ${name}`);
  return found;
}

/** How the top-level binding `local` of `source` is declared (an import: where it comes from). */
function localBinding(source, file, local) {
  for (const statement of source.statements) {
    if (ts.isVariableStatement(statement) && variableNames(statement).includes(local)) return { file, kind: variableKind(statement) };
    if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) && statement.name?.text === local) {
      return { file, kind: ts.isFunctionDeclaration(statement) ? 'function' : 'class' };
    }
    if (ts.isImportDeclaration(statement) && statement.importClause) {
      const target = resolve(dirname(file), statement.moduleSpecifier.text);
      const { name, namedBindings } = statement.importClause;
      if (name?.text === local) return declared(target, 'default');
      if (namedBindings && ts.isNamespaceImport(namedBindings) && namedBindings.name.text === local) return { file: target, kind: 'namespace' };
      if (namedBindings && ts.isNamedImports(namedBindings)) {
        const element = namedBindings.elements.find((e) => e.name.text === local);
        if (element) return declared(target, (element.propertyName ?? element.name).text);
      }
    }
  }
  throw new Error(`${file}: no top-level declaration of ${local}`);
}

function variableKind(statement) {
  const flags = statement.declarationList.flags;
  return flags & ts.NodeFlags.Const ? 'const' : flags & ts.NodeFlags.Let ? 'let' : 'var';
}

/** Every name a variable statement declares, destructured ones included. */
function variableNames(statement) {
  const names = [];
  const collect = (binding) => {
    if (ts.isIdentifier(binding)) names.push(binding.text);
    else for (const element of binding.elements) if (!ts.isOmittedExpression(element)) collect(element.name);
  };
  for (const declaration of statement.declarationList.declarations) collect(declaration.name);
  return names;
}
