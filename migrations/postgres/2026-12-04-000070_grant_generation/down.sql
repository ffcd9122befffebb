DROP TABLE grant_generation;
