-- Table-driven cases for hack/argocd/test.lua: statuses as the operator writes them (operator/pool/status.ts,
-- operator/claim/model.ts) and the Argo CD health each must read as.
local function cond(kind, status, reason, message, generation)
  return {
    type = kind,
    status = status,
    reason = reason,
    message = message,
    lastTransitionTime = "2026-01-01T00:00:00Z",
    observedGeneration = generation or 1,
  }
end

local function object(kind, status, generation)
  return {
    apiVersion = "warmpool.dev/v1alpha1",
    kind = kind,
    metadata = { name = "p", namespace = "ns", generation = generation or 1, uid = "u1" },
    spec = kind == "InstancePool" and { targetSize = 3 } or { poolName = "p" },
    status = status,
  }
end

-- A pool status with its four conditions, in the order computeStatus writes them.
local function pool(phase, ready, reconciling, stalled, degraded, extra)
  local status = {
    phase = phase,
    observedGeneration = 1,
    targetSize = 3,
    conditions = { ready, reconciling, stalled, degraded },
  }
  for k, v in pairs(extra or {}) do
    status[k] = v
  end
  return status
end

local notStalled = cond("Stalled", "False", "AsExpected", "making progress")
local healthy = cond("Degraded", "False", "AsExpected", "members are healthy")
local reconciled = cond("Reconciling", "False", "Reconciled", "3 of 3 warm members")
local targetReached = cond("Ready", "True", "TargetReached", "3 of 3 members ready")
local oneReady = cond("Ready", "False", "NotEnoughReady", "1 of 3 members ready")
local crashes = "5 member failures in the last 5m (0 warming timeouts, 5 crashes); replacements back off 20s and go one at a time"

local cases = {}
local function add(kind, name, status, want, message, generation)
  cases[#cases + 1] = { kind = kind, name = name, obj = object(kind, status, generation), want = want, message = message }
end

add("InstancePool", "new, no status", nil, "Progressing", "Waiting for the operator to observe the current spec")
add("InstancePool", "only pendingClaims written so far", { pendingClaims = 2 }, "Progressing")
add("InstancePool", "ready at an older generation", pool("Active", targetReached, reconciled, notStalled, healthy), "Progressing", nil, 2)
add("InstancePool", "target reached", pool("Active", targetReached, reconciled, notStalled, healthy, { readyCount = 3 }), "Healthy", "3 of 3 members ready")
add(
  "InstancePool",
  "warming up",
  pool("Active", oneReady, cond("Reconciling", "True", "WarmingUp", "1 of 3 members ready"), notStalled, healthy),
  "Progressing",
  "1 of 3 members ready"
)
add(
  "InstancePool",
  "scaling up",
  pool("Active", oneReady, cond("Reconciling", "True", "ScalingUp", "1 of 3 warm members"), notStalled, healthy),
  "Progressing",
  "1 of 3 warm members"
)
add(
  "InstancePool",
  "rolling out a new template",
  pool("Active", cond("Ready", "False", "RollingOut", "3 of 3 members ready"), cond("Reconciling", "True", "RollingOut", "1 warm member on an older template"), notStalled, healthy),
  "Progressing",
  "1 warm member on an older template"
)
add(
  "InstancePool",
  "invalid spec",
  pool(
    "Active",
    cond("Ready", "False", "InvalidSpec", "spec.targetSize: must be at most 10"),
    cond("Reconciling", "False", "InvalidSpec", "the spec must be fixed first"),
    cond("Stalled", "True", "InvalidSpec", "spec.targetSize: must be at most 10"),
    healthy
  ),
  "Degraded",
  "spec.targetSize: must be at most 10"
)
add(
  "InstancePool",
  "stalled on unschedulable members",
  pool(
    "Active",
    cond("Ready", "False", "Unschedulable", "0 of 3 members ready"),
    cond("Reconciling", "False", "Reconciled", "3 of 3 warm members"),
    cond("Stalled", "True", "Unschedulable", "3 warming members unschedulable, held (p-a: 0/3 nodes are available)"),
    cond("Degraded", "True", "Unschedulable", "3 warming members unschedulable, held (p-a: 0/3 nodes are available)")
  ),
  "Degraded",
  "3 warming members unschedulable, held (p-a: 0/3 nodes are available)"
)
add(
  "InstancePool",
  "stalled on crashing members",
  pool("Active", cond("Ready", "False", "CrashLoop", "0 of 3 members ready"), cond("Reconciling", "True", "ScalingUp", "0 of 3 warm members"), cond("Stalled", "True", "CrashLoop", crashes), cond("Degraded", "True", "CrashLoop", crashes)),
  "Degraded",
  crashes
)
add(
  "InstancePool",
  "full despite recent failures",
  pool("Active", targetReached, reconciled, notStalled, cond("Degraded", "True", "CrashLoop", crashes)),
  "Healthy",
  "3 of 3 members ready"
)
add(
  "InstancePool",
  "failures while rolling out",
  pool("Active", cond("Ready", "False", "RollingOut", "3 of 3 members ready"), cond("Reconciling", "True", "RollingOut", "1 warm member on an older template"), notStalled, cond("Degraded", "True", "CrashLoop", crashes)),
  "Degraded",
  crashes
)
add(
  "InstancePool",
  "paused short of target",
  pool("Paused", oneReady, cond("Reconciling", "False", "Paused", "replenishment is paused"), notStalled, healthy),
  "Suspended",
  "replenishment is paused"
)
add(
  "InstancePool",
  "paused at target",
  pool("Paused", targetReached, cond("Reconciling", "False", "Paused", "replenishment is paused"), notStalled, healthy),
  "Healthy",
  "3 of 3 members ready"
)
add(
  "InstancePool",
  "draining",
  pool("Draining", cond("Ready", "False", "Draining", "deleting 2 unclaimed members"), cond("Reconciling", "True", "Draining", "deleting 2 unclaimed members"), notStalled, healthy),
  "Progressing",
  "deleting 2 unclaimed members"
)
add(
  "InstancePool",
  "drained",
  pool("Draining", cond("Ready", "True", "Drained", "no unclaimed members; 1 claimed member left to their claims"), cond("Reconciling", "False", "Drained", "no unclaimed members; 1 claimed member left to their claims"), notStalled, healthy),
  "Healthy"
)
add(
  "InstancePool",
  "terminating",
  pool("Terminating", cond("Ready", "False", "Terminating", "the pool is being deleted"), cond("Reconciling", "True", "Terminating", "waiting for 1 claimed member"), notStalled, healthy),
  "Progressing",
  "waiting for 1 claimed member"
)
add("InstancePool", "observed, no conditions", { phase = "Active", observedGeneration = 1 }, "Progressing")

local queued = cond("Bound", "False", "Queued", "waiting for a ready member of pool p")
local boundTo = cond("Bound", "True", "Bound", "bound to member p-x7k2q")
add("PoolClaim", "new, no status", nil, "Progressing", "Waiting for the operator to observe the claim")
add("PoolClaim", "queued", { phase = "Pending", observedGeneration = 1, queuePosition = 2, conditions = { queued } }, "Progressing", "waiting for a ready member of pool p")
add(
  "PoolClaim",
  "pool not found yet",
  { phase = "Pending", observedGeneration = 1, conditions = { cond("Bound", "False", "PoolNotFound", "InstancePool p not found") } },
  "Progressing",
  "InstancePool p not found"
)
add("PoolClaim", "bound at an older generation", { phase = "Bound", observedGeneration = 1, conditions = { boundTo, cond("Ready", "True", "MemberReady", "member p-x7k2q is Ready") } }, "Progressing", nil, 2)
add(
  "PoolClaim",
  "bound, member ready",
  { phase = "Bound", observedGeneration = 1, member = { name = "p-x7k2q", uid = "m1" }, conditions = { boundTo, cond("Ready", "True", "MemberReady", "member p-x7k2q is Ready") } },
  "Healthy",
  "bound to member p-x7k2q"
)
add(
  "PoolClaim",
  "bound, member no longer ready",
  { phase = "Bound", observedGeneration = 1, conditions = { boundTo, cond("Ready", "False", "MemberNotReady", "member p-x7k2q is not Ready") } },
  "Degraded",
  "member p-x7k2q is not Ready"
)
add("PoolClaim", "bound, readiness not reported", { phase = "Bound", observedGeneration = 1, conditions = { boundTo } }, "Progressing", "bound to member p-x7k2q")
add(
  "PoolClaim",
  "failed waiting",
  { phase = "Failed", observedGeneration = 1, conditions = { cond("Bound", "False", "NoReadyMembers", "no ready member of pool p within 0s") } },
  "Degraded",
  "no ready member of pool p within 0s"
)
add(
  "PoolClaim",
  "rejected, queue full",
  { phase = "Failed", observedGeneration = 1, conditions = { cond("Bound", "False", "QueueFull", "the queue of pool p is full (maxPending 1, RejectNewest)") } },
  "Degraded",
  "the queue of pool p is full (maxPending 1, RejectNewest)"
)
add(
  "PoolClaim",
  "lost its member",
  { phase = "Lost", observedGeneration = 1, conditions = { cond("Bound", "False", "MemberLost", "member p-x7k2q was deleted"), cond("Ready", "False", "MemberLost", "member p-x7k2q was deleted") } },
  "Degraded",
  "member p-x7k2q was deleted"
)
add(
  "PoolClaim",
  "released after its TTL",
  {
    phase = "Released",
    observedGeneration = 1,
    releasedAt = "2026-01-01T00:10:00.000Z",
    conditions = { cond("Bound", "False", "Expired", "ttlSecondsAfterBound 600 elapsed"), cond("Ready", "False", "Released", "the member was released") },
  },
  "Healthy",
  "released at 2026-01-01T00:10:00.000Z (ttlSecondsAfterBound 600 elapsed)"
)
add("PoolClaim", "a phase from a newer operator", { phase = "Hibernating", observedGeneration = 1 }, "Unknown", "unknown phase Hibernating")

return cases
