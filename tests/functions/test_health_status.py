"""HEALTH_STATUS: the contract's rows, through the cell rules and the Python API."""

from __future__ import annotations

from contract_checks import contract_tests

test_contract_in_cells, test_contract_in_python = contract_tests("HEALTH_STATUS")
