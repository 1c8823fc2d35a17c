# balancer: targets are added here.
