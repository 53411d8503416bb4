"""An eth-tester (py-evm) chain served over JSON-RPC HTTP on loopback, for live-chain behaviour no
recording shows (reorgs). The chain is real EVM execution through web3.py; this shim only puts it
behind HTTP so the collector uses exactly the client it uses against a node.
"""

import json
import threading

from web3 import EthereumTesterProvider, Web3

from tests.http_servers import LoopbackServer, QuietHandler


class EvmNode(LoopbackServer):
    """eth-tester behind ``http://127.0.0.1:PORT``: eth_chainId, eth_blockNumber, eth_getBlockByNumber,
    eth_getBlockReceipts (built from eth_getTransactionReceipt), single and batch requests."""

    def __init__(self) -> None:
        self.provider = EthereumTesterProvider()
        self.w3 = Web3(self.provider)
        self.tester = self.provider.ethereum_tester
        self._lock = threading.Lock()
        node = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with node._lock:
                    answer = [node._answer(r) for r in body] if isinstance(body, list) else node._answer(body)
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        super().__init__(Handler)

    def stop(self) -> None:
        """Stop serving (``LoopbackServer.close``)."""
        self.close()

    def _jsonable(self, value):
        return json.loads(Web3.to_json(value))

    def _answer(self, request: dict) -> dict:
        method, params = request["method"], request.get("params", [])
        eth = self.w3.eth
        if method == "eth_chainId":
            result = hex(eth.chain_id)
        elif method == "eth_blockNumber":
            result = hex(eth.block_number)
        elif method == "eth_getBlockByNumber":
            number = int(params[0], 16)
            result = self._jsonable(eth.get_block(number, full_transactions=bool(params[1]))) \
                if number <= eth.block_number else None
        elif method == "eth_getBlockReceipts":
            block = eth.get_block(int(params[0], 16))
            result = [self._jsonable(eth.get_transaction_receipt(h)) for h in block["transactions"]]
        else:
            return {"jsonrpc": "2.0", "id": request.get("id"),
                    "error": {"code": -32601, "message": f"the method {method} does not exist/is not available"}}
        return {"jsonrpc": "2.0", "id": request.get("id"), "result": result}
