"""Running Postventa with no AWS account: a Step Functions engine on a virtual clock, and simulate."""
