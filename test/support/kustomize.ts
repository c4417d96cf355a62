/**
 * The part of kustomize that deploy/k8s uses, for tests on machines without kubectl: `resources`
 * (files and directories), `components`, `patches` by `path` (strategic merge, lists of named
 * items merged by name), `images` (name, newName, newTag) and `namespace`. Anything else in a kustomization is refused, so a
 * manifest using more cannot pass the test unrendered.
 */
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** One Kubernetes object, as parsed from YAML. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

type Json = Record<string, unknown>;

const KNOWN = new Set(['apiVersion', 'kind', 'resources', 'components', 'patches', 'images', 'namespace']);
/** Kinds that live outside namespaces (among those deploy/k8s uses). */
const CLUSTER_SCOPED = new Set(['Namespace']);

/** The objects a kustomization directory renders to, in kustomize's order; `extraComponents` are added to its own. */
export function kustomize(dir: string, extraComponents: string[] = []): Manifest[] {
  const file = join(dir, 'kustomization.yaml');
  const kustomization = readYaml(file)[0] as Json;
  const unknown = Object.keys(kustomization).filter((key) => !KNOWN.has(key));
  if (unknown.length > 0) throw new Error(`${file}: this renderer does not know ${unknown.join(', ')}`);
  let objects: Manifest[] = [];
  for (const entry of (kustomization.resources as string[] | undefined) ?? []) {
    const path = resolve(dir, entry);
    objects.push(...(statSync(path).isDirectory() ? kustomize(path) : (readYaml(path) as Manifest[])));
  }
  const components = [...((kustomization.components as string[] | undefined) ?? []).map((each) => resolve(dir, each)), ...extraComponents];
  for (const component of components) objects = applyComponent(component, objects);
  for (const patch of (kustomization.patches as { path?: string }[] | undefined) ?? []) {
    if (!patch.path) throw new Error(`${file}: only patches by path are supported`);
    for (const each of readYaml(resolve(dir, patch.path)) as Manifest[]) objects = applyPatch(objects, each, file);
  }
  for (const image of (kustomization.images as Image[] | undefined) ?? []) for (const object of objects) setImage(object, image);
  const namespace = kustomization.namespace as string | undefined;
  if (namespace) {
    for (const object of objects) if (!CLUSTER_SCOPED.has(object.kind)) object.metadata.namespace = namespace;
  }
  return objects;
}

interface Image {
  name: string;
  newName?: string;
  newTag?: string;
}

/** kustomize's image transformer on a workload's containers: `name[:tag]` becomes `newName:newTag`. */
function setImage(object: Manifest, image: Image): void {
  const pod = ((object.spec as Json | undefined)?.template as Json | undefined)?.spec as Json | undefined;
  for (const container of [...((pod?.containers as Json[] | undefined) ?? []), ...((pod?.initContainers as Json[] | undefined) ?? [])]) {
    const [name, tag] = String(container.image).split(':');
    if (name !== image.name) continue;
    const newTag = image.newTag ?? tag;
    container.image = `${image.newName ?? name}${newTag ? `:${newTag}` : ''}`;
  }
}

function applyComponent(dir: string, objects: Manifest[]): Manifest[] {
  const file = join(dir, 'kustomization.yaml');
  const component = readYaml(file)[0] as Json;
  if (component.kind !== 'Component') throw new Error(`${file}: not a Component`);
  const own = kustomize(dir);
  return [...objects, ...own];
}

function applyPatch(objects: Manifest[], patch: Manifest, file: string): Manifest[] {
  const index = objects.findIndex((each) => each.kind === patch.kind && each.metadata.name === patch.metadata.name);
  if (index < 0) throw new Error(`${file}: patch for ${patch.kind}/${patch.metadata.name} matches nothing`);
  return objects.map((each, i) => (i === index ? (merge(each, patch) as Manifest) : each));
}

/** Strategic merge, as far as these manifests need it: maps merge, lists of named items merge by name, other lists are replaced. */
export function merge(base: unknown, patch: unknown): unknown {
  if (Array.isArray(base) && Array.isArray(patch) && [...base, ...patch].every(isNamed)) {
    const result = base.map((item) => {
      const over = patch.find((p) => (p as Json).name === (item as Json).name);
      return over === undefined ? item : merge(item, over);
    });
    for (const item of patch) if (!base.some((b) => (b as Json).name === (item as Json).name)) result.push(item);
    return result;
  }
  if (isMap(base) && isMap(patch)) {
    const result: Json = { ...base };
    for (const [key, value] of Object.entries(patch)) result[key] = key in base ? merge(base[key], value) : value;
    return result;
  }
  return patch;
}

const isMap = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const isNamed = (value: unknown) => isMap(value) && typeof value.name === 'string';

function readYaml(path: string): unknown[] {
  return parseAllDocuments(readFileSync(path, 'utf8'))
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors[0]?.message}`);
      return doc.toJS() as unknown;
    })
    .filter((doc) => doc !== null);
}
