// One lint configuration for the whole tree: typescript-eslint with type information, and
// prettier's config last so that formatting is prettier's alone (`npm run lint` checks both).
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import prettier from "eslint-config-prettier";

// The layering of the tree (docs/operator.md "Where things are"), enforced: each entry is what
// files in one place must not import, and why. `allowTypeImports` lets pure code name a type
// from the edge (a KubeClient's shape) without loading it.
const forbid = (regex, message, allowTypeImports = false) => ({ regex, message, allowTypeImports });
const SIDECAR_BUT_CONTRACT = forbid(
  "(^|/)sidecar/(?!src/contract\\.ts$)",
  "the operator imports from the sidecar only its contract (sidecar/src/contract.ts)",
);
const RUNTIME_VALUES = forbid(
  "(^|/)runtime/",
  "pure code takes effects as parameters: import only types from runtime/",
  true,
);
const GENERATORS = forbid("(^|/)generators/", "the generators run at build time, never in the operator");
const layers = [
  {
    files: ["operator/src/api/**/*.ts"],
    patterns: [
      forbid(
        "(^|/)(builders|reconcile|runtime)/|(^|/)(children|rbac)\\.ts$",
        "api/ is the contract: it imports nothing of the operator's machinery",
      ),
      GENERATORS,
      SIDECAR_BUT_CONTRACT,
    ],
  },
  {
    files: ["operator/src/builders/**/*.ts", "operator/src/children.ts"],
    patterns: [
      forbid("(^|/)reconcile/", "builders are pure and take what reconcile decided as input"),
      RUNTIME_VALUES,
      GENERATORS,
      SIDECAR_BUT_CONTRACT,
    ],
  },
  { files: ["operator/src/reconcile/**/*.ts"], patterns: [RUNTIME_VALUES, GENERATORS, SIDECAR_BUT_CONTRACT] },
  {
    files: ["operator/src/*.ts", "operator/src/runtime/**/*.ts", "operator/src/generators/**/*.ts"],
    patterns: [SIDECAR_BUT_CONTRACT],
  },
  {
    files: ["sidecar/**/*.ts"],
    patterns: [forbid("(^|/)operator/", "the sidecar never imports the operator")],
  },
].map(({ files, patterns }) => ({
  files,
  rules: { "@typescript-eslint/no-restricted-imports": ["error", { patterns }] },
}));

export default tseslint.config(
  { ignores: ["node_modules/", ".rig/", "coverage/", "charts/"] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ["*.js"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/restrict-template-expressions": [
        "error",
        { allowNumber: true, allowBoolean: true },
      ],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      // client-node's models are classes, and plain object literals of their shape are how the
      // library itself expects them to be written (it serialises by shape, not by prototype).
      "@typescript-eslint/no-unsafe-class-instance-assignment": "off",
    },
  },
  ...layers,
  { files: ["**/*.js"], ...tseslint.configs.disableTypeChecked },
  prettier,
);
