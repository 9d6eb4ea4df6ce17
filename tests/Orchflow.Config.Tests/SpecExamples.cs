namespace Orchflow.Config.Tests;

/// <summary>The examples of section 5 ("Configuration") of docs/spec multi-project-orchestration.md, copied verbatim.</summary>
internal static class SpecExamples
{
    public const string WorkspaceJson = """
        {
          "workspace": {
            "id": "proj-ecommerce",
            "name": "E-commerce Platform",
            "root": "/home/user/projects/shop",
            "type": "rust",
            "namespace": {
              "prefix": "shop",
              "isolation": "strict"
            },
            "resources": {
              "max_agents": 8,
              "memory_limit": "4GB",
              "cpu_shares": 1024
            },
            "ruv_fann": {
              "models": ["code_completion", "error_detection"],
              "memory_size": "512MB",
              "training_enabled": true
            },
            "security": {
              "tier": "enhanced",
              "allowed_commands": ["cargo", "npm", "git"],
              "restricted_paths": ["/etc", "/sys"]
            }
          }
        }
        """;

    public const string GlobalToml = """
        [orchestration]
        max_workspaces = 5
        default_agent_limit = 6
        enable_cross_workspace = true

        [orchestration.ruv_fann]
        namespace_isolation = true
        shared_model_cache = true
        memory_per_workspace = "512MB"

        [orchestration.resources]
        total_memory_limit = "16GB"
        cpu_allocation_strategy = "fair"
        terminal_limit_per_workspace = 12
        """;
}
