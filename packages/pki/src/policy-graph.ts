import { isSelfIssued, type Certificate } from './certificate.js';
import {
  ANY_POLICY,
  decodeCertificatePolicies,
  decodeInhibitAnyPolicy,
  decodePolicyConstraints,
  decodePolicyMappings,
} from './certificate-policies.js';
import { Oid } from './oids.js';

/** The policy inputs of RFC 5280 §6.1.1 (c), (e), (f), (g). */
export interface PolicyParameters {
  readonly initialPolicySet?: readonly string[];
  readonly initialExplicitPolicy?: boolean;
  readonly initialPolicyMappingInhibit?: boolean;
  readonly initialAnyPolicyInhibit?: boolean;
}

/** Nodes one validation may create: RFC 9618 keeps the graph linear, this bounds it anyway. */
export const MAX_POLICY_NODES = 4096;

interface PolicyNode {
  readonly validPolicy: string;
  expectedPolicySet: Set<string>;
  readonly parents: Set<PolicyNode>;
  readonly children: Set<PolicyNode>;
}

function node(validPolicy: string, expected: Iterable<string>, parents: Iterable<PolicyNode>): PolicyNode {
  const created: PolicyNode = { validPolicy, expectedPolicySet: new Set(expected), parents: new Set(parents), children: new Set() };
  for (const parent of created.parents) parent.children.add(created);
  return created;
}

function extensionValue(cert: Certificate, oid: string): Buffer | undefined {
  return cert.extensions.find((e) => e.oid === oid)?.value;
}

/** Removes childless nodes above `depth` (RFC 9618 §6.1.3 (d)(3)), level by level upward. */
function prune(levels: PolicyNode[][], depth: number): void {
  for (let d = depth - 1; d >= 0; d--) {
    const level = levels[d] as PolicyNode[];
    const kept = level.filter((n) => n.children.size > 0);
    for (const removed of level.filter((n) => n.children.size === 0)) for (const parent of removed.parents) parent.children.delete(removed);
    levels[d] = kept;
  }
}

function deleteNode(levels: PolicyNode[][], depth: number, target: PolicyNode): void {
  levels[depth] = (levels[depth] as PolicyNode[]).filter((n) => n !== target);
  for (const parent of target.parents) parent.children.delete(target);
  prune(levels, depth);
}

/**
 * RFC 5280 §6.1 certificate-policy processing with the valid_policy_graph of RFC 9618 (linear
 * in the input, where RFC 5280's tree can grow exponentially). `path` is leaf first, anchor
 * last; the anchor is not processed. Returns a reason when the path has no acceptable policy.
 */
export function policyViolation(path: readonly Certificate[], params: PolicyParameters = {}): string | undefined {
  const certs = path.slice(0, -1).reverse();
  const n = certs.length;
  const initialSet = new Set(params.initialPolicySet ?? [ANY_POLICY]);
  let explicitPolicy = params.initialExplicitPolicy ? 0 : n + 1;
  let inhibitAnyPolicy = params.initialAnyPolicyInhibit ? 0 : n + 1;
  let policyMapping = params.initialPolicyMappingInhibit ? 0 : n + 1;
  let levels: PolicyNode[][] | undefined = [[node(ANY_POLICY, [ANY_POLICY], [])]];
  let created = 1;

  for (let i = 1; i <= n; i++) {
    const cert = certs[i - 1] as Certificate;
    const policiesValue = extensionValue(cert, Oid.certificatePolicies);
    const policies = policiesValue ? decodeCertificatePolicies(policiesValue) : undefined;
    if (levels && policies) {
      const previous = levels[i - 1] as PolicyNode[];
      const current = new Map<string, PolicyNode>();
      // (d)(1): each asserted policy under the parents that expect it, else under anyPolicy.
      for (const policy of policies.filter((p) => p !== ANY_POLICY)) {
        let parents = previous.filter((p) => p.expectedPolicySet.has(policy));
        if (parents.length === 0) parents = previous.filter((p) => p.validPolicy === ANY_POLICY);
        if (parents.length > 0) current.set(policy, node(policy, [policy], parents));
      }
      // (d)(2): anyPolicy stands for every policy a parent expects, unless inhibited.
      if (policies.includes(ANY_POLICY) && (inhibitAnyPolicy > 0 || (i < n && isSelfIssued(cert)))) {
        for (const parent of previous) {
          for (const expected of parent.expectedPolicySet) {
            const existing = current.get(expected);
            if (existing) {
              if (!existing.parents.has(parent)) {
                existing.parents.add(parent);
                parent.children.add(existing);
              }
            } else current.set(expected, node(expected, [expected], [parent]));
          }
        }
      }
      created += current.size;
      if (created > MAX_POLICY_NODES) return 'policy graph too large';
      levels.push([...current.values()]);
      prune(levels, i);
      if ((levels[i] as PolicyNode[]).length === 0) levels = undefined;
    } else levels = undefined;
    // (f): a path that needs an explicit policy has one.
    if (explicitPolicy <= 0 && !levels) return `no valid policy at certificate ${i} while an explicit policy is required`;

    if (i === n) break;
    // Preparation for the next certificate (§6.1.4).
    const mappingsValue = extensionValue(cert, Oid.policyMappings);
    if (mappingsValue) {
      const mappings = decodePolicyMappings(mappingsValue);
      if (mappings.some((m) => m.issuer === ANY_POLICY || m.subject === ANY_POLICY)) return 'policyMappings maps anyPolicy';
      if (levels) {
        const issuerPolicies = [...new Set(mappings.map((m) => m.issuer))];
        for (const issuerPolicy of issuerPolicies) {
          const level = levels[i] as PolicyNode[];
          const subjects = mappings.filter((m) => m.issuer === issuerPolicy).map((m) => m.subject);
          const target = level.find((x) => x.validPolicy === issuerPolicy);
          if (policyMapping > 0) {
            if (target) target.expectedPolicySet = new Set(subjects);
            else {
              const any = level.find((x) => x.validPolicy === ANY_POLICY);
              if (any) level.push(node(issuerPolicy, subjects, any.parents));
            }
          } else if (target) {
            deleteNode(levels, i, target);
            if ((levels[i] as PolicyNode[]).length === 0) levels = undefined;
            if (!levels) break;
          }
        }
      }
    }
    if (!isSelfIssued(cert)) {
      if (explicitPolicy > 0) explicitPolicy--;
      if (policyMapping > 0) policyMapping--;
      if (inhibitAnyPolicy > 0) inhibitAnyPolicy--;
    }
    const constraintsValue = extensionValue(cert, Oid.policyConstraints);
    if (constraintsValue) {
      const constraints = decodePolicyConstraints(constraintsValue);
      if (constraints.requireExplicitPolicy !== undefined) explicitPolicy = Math.min(explicitPolicy, constraints.requireExplicitPolicy);
      if (constraints.inhibitPolicyMapping !== undefined) policyMapping = Math.min(policyMapping, constraints.inhibitPolicyMapping);
    }
    const inhibitValue = extensionValue(cert, Oid.inhibitAnyPolicy);
    if (inhibitValue) inhibitAnyPolicy = Math.min(inhibitAnyPolicy, decodeInhibitAnyPolicy(inhibitValue));
  }

  // Wrap-up (§6.1.5).
  const leaf = certs[n - 1];
  if (explicitPolicy > 0) explicitPolicy--;
  const leafConstraints = leaf ? extensionValue(leaf, Oid.policyConstraints) : undefined;
  if (leafConstraints && decodePolicyConstraints(leafConstraints).requireExplicitPolicy === 0) explicitPolicy = 0;
  if (explicitPolicy > 0) return undefined;
  if (!levels) return 'no valid certificate policy while an explicit policy is required';
  if (initialSet.has(ANY_POLICY)) return undefined;
  // (g)(iii) on the graph: a leaf-level node counts when the policy it descends from, below
  // anyPolicy, is one the user accepts; an anyPolicy leaf node stands for every user policy.
  const authorityPolicies = (x: PolicyNode, seen: Set<PolicyNode> = new Set()): Set<string> => {
    const out = new Set<string>();
    if (seen.has(x)) return out;
    seen.add(x);
    for (const parent of x.parents) {
      if (parent.validPolicy === ANY_POLICY) out.add(x.validPolicy);
      else for (const p of authorityPolicies(parent, seen)) out.add(p);
    }
    return out;
  };
  const leaves = levels[n] ?? [];
  const acceptable = leaves.some((x) => x.validPolicy === ANY_POLICY || [...authorityPolicies(x)].some((p) => initialSet.has(p) || p === ANY_POLICY));
  return acceptable ? undefined : 'no certificate policy of the path is in the user-initial-policy-set while an explicit policy is required';
}
