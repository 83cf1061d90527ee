-- Fluent Bit Lua filter (seed 8.2): the Elasticsearch index of a record from its tag and date.
-- Tag `internal.myapp` on 2025-08-07 (UTC) gives index `internal-myapp-2025.08.07`.
-- Sets es_index (the whole name) and es_index_prefix (the name without the date); the es
-- output builds the same name from es_index_prefix and its Logstash_DateFormat.

local function seconds(timestamp)
  -- a number of seconds, or {sec, nsec} when the filter is configured with time_as_table
  if type(timestamp) == "table" then
    return timestamp.sec or timestamp[1] or 0
  end
  return timestamp
end

-- Index names must be lowercase and may not contain \ / * ? " < > | , # : or spaces, nor start
-- with - _ + (Elasticsearch's create index API): keep [a-z0-9_-], dots become dashes.
local function index_prefix(tag)
  local name = string.lower(tag):gsub("[^a-z0-9_-]", "-"):gsub("^[-_+]+", "")
  if name == "" then
    return "untagged"
  end
  return name
end

function es_index(tag, timestamp, record)
  local prefix = index_prefix(tag)
  record["es_index_prefix"] = prefix
  record["es_index"] = prefix .. "-" .. os.date("!%Y.%m.%d", math.floor(seconds(timestamp)))
  -- 2: record modified, timestamp kept
  return 2, timestamp, record
end
