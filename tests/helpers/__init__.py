"""What the tests share: real git repositories, throwaway projects, ways to run fastci."""
