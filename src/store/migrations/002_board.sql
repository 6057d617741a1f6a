-- The Projects (v2) board: node ids cached so steady-state transitions cost one GraphQL request.

-- One row per board an installation writes to; `layout` holds the field and option ids.
CREATE TABLE board_projects (
  installation_id bigint NOT NULL,
  owner text NOT NULL,
  number integer NOT NULL,
  title text NOT NULL,
  project_id text NOT NULL UNIQUE,
  url text NOT NULL DEFAULT '',
  created_by_trellis boolean NOT NULL DEFAULT false,
  layout jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (installation_id, owner, number)
);

-- One row per issue or pull request on a board: its item id, what was last written to its fields
-- (so unchanged fields are not written again), and which run state that was (so a late effect never
-- moves the card backwards). `pinned` keeps a card where a human put it while Trellis acts on the move.
CREATE TABLE board_items (
  project_id text NOT NULL,
  repo text NOT NULL,
  number integer NOT NULL,
  kind text NOT NULL CHECK (kind IN ('issue', 'pull_request')),
  content_id text NOT NULL,
  item_id text NOT NULL,
  written jsonb NOT NULL DEFAULT '{}',
  mark jsonb,
  pinned text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, repo, number)
);
CREATE INDEX board_items_item ON board_items (item_id);
