// Creates what platform/components/arangodb/schema.json describes (seed 7.2): the database,
// its document collections and the graph of assets and trades. Idempotent: only what is
// missing is created. Run by arangosh in Job arangodb-bootstrap.
'use strict';
const fs = require('fs');
const db = require('@arangodb').db;
const graphs = require('@arangodb/general-graph');

const schema = JSON.parse(fs.read('/bootstrap/schema.json'));

if (db._databases().indexOf(schema.database) === -1) {
  db._createDatabase(schema.database);
}
db._useDatabase(schema.database);

schema.documents.forEach(function (name) {
  if (db._collection(name) === null) {
    db._createDocumentCollection(name);
  }
});

const graph = schema.graph;
if (!graphs._exists(graph.name)) {
  graphs._create(graph.name, graph.edges.map(function (edge) {
    return graphs._relation(edge.collection, edge.from, edge.to);
  }));
}
print('database ' + schema.database + ': collections and graph ' + graph.name + ' in place');
