-- Argo CD health of a warmpool.dev/v1alpha1 InstancePool, read from the kstatus conditions the operator writes
-- (Ready, Reconciling, Stalled, Degraded; operator/pool/status.ts). It runs in the sandbox Argo CD gives scripts
-- from argocd-cm: the base and table libraries only, so no string or math functions and no methods on strings.
local function condition(status, kind)
  if status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local function isTrue(c)
  return c ~= nil and c.status == "True"
end

-- The first message the operator gave among these conditions, so every verdict says why.
local function messageOf(...)
  for i = 1, select("#", ...) do
    local c = select(i, ...)
    if c ~= nil and c.message ~= nil and c.message ~= "" then
      return c.message
    end
  end
  return nil
end

local status = obj.status
local generation = obj.metadata.generation
-- A pool the operator has not written status for (a new object, or one whose status so far holds only fields other
-- writers own, such as pendingClaims) or has not seen at its current generation says nothing yet about this spec.
if status == nil or status.observedGeneration == nil or (generation ~= nil and status.observedGeneration < generation) then
  return { status = "Progressing", message = "Waiting for the operator to observe the current spec" }
end

local ready = condition(status, "Ready")
local reconciling = condition(status, "Reconciling")
local stalled = condition(status, "Stalled")
local degraded = condition(status, "Degraded")

if isTrue(stalled) then
  return { status = "Degraded", message = messageOf(stalled, ready) }
end
if isTrue(ready) then
  return { status = "Healthy", message = messageOf(ready) }
end
if isTrue(degraded) then
  return { status = "Degraded", message = messageOf(degraded, ready) }
end
if status.phase == "Paused" then
  return { status = "Suspended", message = messageOf(reconciling, ready) }
end
return { status = "Progressing", message = messageOf(reconciling, ready) }
