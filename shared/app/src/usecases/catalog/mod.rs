//! Projects and messaging templates.

pub mod candidates;
pub mod import;

use outreach_domain::Name;
use outreach_domain::campaign::StepSpec;
use outreach_domain::ids::{ProjectId, TemplateId};
use outreach_domain::render::{too_large, validate_step};

use crate::auth::Identity;
use crate::error::{Error, FieldError};
use crate::model::{Project, Template};
use crate::ports::{Page, PageRequest};

process! {
    /// The catalog process: an organization's projects, templates and candidates
    /// read and changed.
    Catalog, catalog
}

fn valid_name(name: &str) -> Result<String, Error> {
    Name::parse(name)
        .map(Name::into_string)
        .map_err(|e| Error::invalid("name", e.to_string()))
}

/// Validates a sequence's steps; errors name `steps[i].field`.
/// A sequence beyond R-4.1's sizes (more than 20 steps, a body over 100 KB,
/// over 300 KB of content as stored) is a limit of §13: 413, like the request.
pub fn validate_steps(steps: &[StepSpec]) -> Result<(), Error> {
    if steps.is_empty() {
        return Err(Error::invalid("steps", "at least one step is required"));
    }
    if let Some(why) = too_large(steps) {
        return Err(Error::TooLarge(why));
    }
    let errors: Vec<FieldError> = steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| validate_step(s, i == 0).err().map(|es| (i, es)))
        .flat_map(|(i, es)| {
            es.into_iter().map(move |e| {
                let field = if e.field.starts_with("steps[") {
                    e.field
                } else {
                    format!("steps[{i}].{}", e.field)
                };
                FieldError::new(field, e.message)
            })
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid_many(errors))
    }
}

impl Catalog<'_> {
    pub async fn create_project(&self, who: &Identity, name: &str) -> Result<Project, Error> {
        self.ensure_org(&who.org_id).await?;
        let project = Project {
            id: self.new_id(ProjectId::PREFIX),
            org_id: who.org_id.clone(),
            name: valid_name(name)?,
            created_by: who.user_id.clone(),
            created_at: self.now(),
        };
        self.store.put_project(&project).await?;
        Ok(project)
    }

    pub async fn project(&self, who: &Identity, id: &str) -> Result<Project, Error> {
        self.store
            .get_project(&who.org_id, id)
            .await?
            .ok_or(Error::NotFound("project"))
    }

    pub async fn list_projects(
        &self,
        who: &Identity,
        page: &PageRequest,
    ) -> Result<Page<Project>, Error> {
        Ok(self.store.list_projects(&who.org_id, page).await?)
    }

    pub async fn create_template(
        &self,
        who: &Identity,
        name: &str,
        steps: Vec<StepSpec>,
    ) -> Result<Template, Error> {
        self.ensure_org(&who.org_id).await?;
        let name = valid_name(name)?;
        validate_steps(&steps)?;
        let template = Template {
            id: self.new_id(TemplateId::PREFIX),
            org_id: who.org_id.clone(),
            name,
            steps,
            created_by: who.user_id.clone(),
            created_at: self.now(),
        };
        self.store.put_template(&template).await?;
        Ok(template)
    }

    pub async fn template(&self, who: &Identity, id: &str) -> Result<Template, Error> {
        self.store
            .get_template(&who.org_id, id)
            .await?
            .ok_or(Error::NotFound("template"))
    }

    pub async fn list_templates(
        &self,
        who: &Identity,
        page: &PageRequest,
    ) -> Result<Page<Template>, Error> {
        Ok(self.store.list_templates(&who.org_id, page).await?)
    }
}

impl Catalog<'_> {
    /// Replaces a template's name and steps; campaigns keep the steps they copied.
    pub async fn update_template(
        &self,
        who: &Identity,
        id: &str,
        name: &str,
        steps: Vec<StepSpec>,
    ) -> Result<Template, Error> {
        let mut template = self.template(who, id).await?;
        template.name = valid_name(name)?;
        validate_steps(&steps)?;
        template.steps = steps;
        self.store.put_template(&template).await?;
        Ok(template)
    }

    pub async fn delete_template(&self, who: &Identity, id: &str) -> Result<(), Error> {
        let template = self.template(who, id).await?;
        self.store
            .delete_template(&who.org_id, &template.id)
            .await?;
        Ok(())
    }
}
