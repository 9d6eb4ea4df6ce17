// A tiny shop API with no dependencies: GET /products, POST /orders.
'use strict';
const http = require('node:http');

const products = [
  { id: 1, name: 'Mechanical keyboard', price: 89.0 },
  { id: 2, name: 'USB-C hub', price: 34.5 },
  { id: 3, name: 'Laptop stand', price: 42.0 },
];
const orders = [];

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/products') return send(res, 200, products);
  if (req.method === 'POST' && req.url === '/orders') {
    let raw = '';
    req.on('data', (chunk) => (raw += chunk));
    req.on('end', () => {
      let order;
      try {
        order = JSON.parse(raw);
      } catch {
        return send(res, 400, { error: 'body must be JSON' });
      }
      if (!products.some((p) => p.id === order.productId)) return send(res, 404, { error: 'unknown product' });
      const saved = { id: orders.length + 1, productId: order.productId, quantity: order.quantity ?? 1 };
      orders.push(saved);
      return send(res, 201, saved);
    });
    return;
  }
  send(res, 404, { error: 'not found' });
});

const port = Number(process.env.PORT ?? 3000);
server.listen(port, '127.0.0.1', () => console.log(`shop-api listening on http://127.0.0.1:${port}`));
