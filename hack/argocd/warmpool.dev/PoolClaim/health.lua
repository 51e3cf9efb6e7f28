-- Argo CD health of a warmpool.dev/v1alpha1 PoolClaim, read from its phase and its Bound and Ready conditions
-- (operator/claim/model.ts). It runs in the sandbox Argo CD gives scripts from argocd-cm: the base and table
-- libraries only, so no string or math functions and no methods on strings.
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

local function messageOf(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  return fallback
end

local status = obj.status
local generation = obj.metadata.generation
-- The operator writes a waiting claim's first status only after a short grace, so no status means "not yet".
if status == nil or status.observedGeneration == nil or (generation ~= nil and status.observedGeneration < generation) then
  return { status = "Progressing", message = "Waiting for the operator to observe the claim" }
end

local bound = condition(status, "Bound")
local ready = condition(status, "Ready")
local phase = status.phase

if phase == "Bound" then
  if ready ~= nil and ready.status == "True" then
    return { status = "Healthy", message = messageOf(bound, "Bound") }
  end
  if ready ~= nil and ready.status == "False" then
    -- Claims bind Ready members only: a Bound claim whose member is not Ready lost it after the bind.
    return { status = "Degraded", message = messageOf(ready, "member not Ready") }
  end
  return { status = "Progressing", message = messageOf(bound, "Bound; member readiness not reported yet") }
end
if phase == "Pending" or phase == nil then
  -- Waiting in the pool's queue is progress toward Bound, not a suspension someone must lift.
  return { status = "Progressing", message = messageOf(bound, "Pending") }
end
if phase == "Failed" or phase == "Lost" then
  return { status = "Degraded", message = messageOf(bound, phase) }
end
if phase == "Released" then
  -- Released is where a claim with a TTL ends: it held its member and gave it back, as asked.
  local message = "released"
  if status.releasedAt ~= nil then
    message = "released at " .. status.releasedAt
  end
  return { status = "Healthy", message = message .. " (" .. messageOf(bound, "expired") .. ")" }
end
return { status = "Unknown", message = "unknown phase " .. tostring(phase) }
